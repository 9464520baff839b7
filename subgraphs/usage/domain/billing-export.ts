import { createHmac, timingSafeEqual } from 'node:crypto';

import type { Clock } from '../../../lib/clock.js';
import type { Logger } from '../../../lib/logger.js';
import type { BillingOutboxRepository } from '../data/billing-outbox-repository.js';
import type { StoredInvoice } from '../data/invoices-repository.js';
import { periodName } from './billing-period.js';

/** The header every export carries: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (Stripe's scheme). */
export const SIGNATURE_HEADER = 'Lotabots-Signature';

/** @default 300 // s: receivers refuse signatures older than this (Stripe's default tolerance), so a captured request cannot be replayed later. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

const hmacHex = (secret: string, timestamp: number, body: string) => createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

/** The `Lotabots-Signature` value for `body` sent at `now`. */
export function signatureHeader(secret: string, body: string, now: Date): string {
  const timestamp = Math.floor(now.getTime() / 1000);
  return `t=${timestamp},v1=${hmacHex(secret, timestamp, body)}`;
}

/**
 * What a receiver does: true when the header carries a `v1` HMAC of `"<t>.<body>"` under
 * `secret` (compared in constant time) and `t` is within `toleranceSeconds` of `now`.
 */
export function verifySignature(header: string, body: string, secret: string, now: Date, toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS): boolean {
  const parts = header.split(',').map((part) => part.split('=', 2) as [string, string | undefined]);
  const timestamp = Number(parts.find(([name]) => name === 't')?.[1]);
  if (!Number.isInteger(timestamp) || Math.abs(now.getTime() / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(hmacHex(secret, timestamp, body), 'hex');
  return parts.some(([name, value]) => {
    if (name !== 'v1' || !value || !/^[0-9a-f]{64}$/.test(value)) return false;
    return timingSafeEqual(Buffer.from(value, 'hex'), expected);
  });
}

/** The JSON body exported for a closed invoice (stored in the outbox, sent unchanged on every attempt). */
export function exportBodyOf(invoice: StoredInvoice): string {
  return JSON.stringify({
    type: 'invoice.closed',
    invoice: {
      id: invoice.id,
      userId: invoice.userId,
      period: periodName(invoice.periodStart),
      periodStart: invoice.periodStart.toISOString(),
      periodEnd: invoice.periodEnd.toISOString(),
      planId: invoice.planId,
      currency: invoice.currency,
      totalCents: invoice.amountCents,
      lines: invoice.lines,
      closedAt: invoice.createdAt.toISOString(),
    },
  });
}

export interface BillingExportOptions {
  outbox: BillingOutboxRepository;
  clock: Clock;
  logger: Logger;
  webhookUrl: string;
  secret: string;
  pollMs: number;
  backoffMs: number;
  maxBackoffMs: number;
  timeoutMs: number;
}

/** @default 10 // outbox entries sent per look. */
const BATCH = 10;

/** Wait before the attempt after `attempts` failed ones: base × 2^(attempts − 1), capped. */
export const backoffAfter = (attempts: number, baseMs: number, maxMs: number) => Math.min(maxMs, baseMs * 2 ** Math.min(attempts - 1, 30));

/**
 * Sends the outbox's invoices to the billing webhook: POST, JSON body, `Lotabots-Signature`
 * signed at each attempt, until a 2xx; any other answer, a network error or a timeout
 * retries with exponential backoff. Looks every `pollMs`, and at once after `wake()` (a
 * period was closed). The webhook URL and secret are never logged.
 */
export function createBillingExporter(options: BillingExportOptions) {
  const { outbox, logger } = options;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;

  async function attempt(due: { invoiceId: string; body: string; attempts: number }): Promise<void> {
    const attempts = due.attempts + 1;
    try {
      const response = await fetch(options.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signatureHeader(options.secret, due.body, options.clock.now()) },
        body: due.body,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      await response.body?.cancel();
      if (response.ok) {
        await outbox.delivered(due.invoiceId);
        logger.info({ invoiceId: due.invoiceId, attempts }, 'invoice exported');
        return;
      }
      throw new Error(`HTTP ${response.status}`);
    } catch (error) {
      const retryInMs = backoffAfter(attempts, options.backoffMs, options.maxBackoffMs);
      const reason = error instanceof Error ? error.message : String(error);
      logger.warn({ invoiceId: due.invoiceId, attempts, retryInMs, reason }, 'invoice export failed; retrying');
      await outbox.failed(due.invoiceId, reason, retryInMs);
    }
  }

  async function sendDue(): Promise<void> {
    do {
      again = false;
      const due = await outbox.claimDue(BATCH, options.timeoutMs + 5_000);
      for (const entry of due) if (!stopped) await attempt(entry);
      if (due.length === BATCH) again = true;
    } while (again && !stopped);
  }

  const look = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = sendDue()
      .catch((error: unknown) => logger.warn({ err: error }, 'billing export outbox unreadable; retrying'))
      .finally(() => {
        running = null;
      });
  };

  return {
    start(): void {
      if (timer) return;
      timer = setInterval(look, options.pollMs);
      timer.unref();
      look();
    },
    /** Look now (an invoice was just written). */
    wake: look,
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

export type BillingExporter = ReturnType<typeof createBillingExporter>;
