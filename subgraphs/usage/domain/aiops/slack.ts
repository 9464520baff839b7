import { setTimeout as sleep } from 'node:timers/promises';

import type { Logger } from '../../../../lib/logger.js';
import { backoffAfter } from '../billing-export.js';

/** What a Slack incoming webhook takes: `text` (the notification's fallback) and Block Kit `blocks`. */
export interface SlackMessage {
  text: string;
  blocks: unknown[];
}

export interface SlackNotifierOptions {
  /** The incoming webhook's URL: a secret (whoever has it can post), never logged. */
  webhookUrl: string;
  logger: Logger;
  /** Messages per minute at most; the rest wait their turn (none is dropped for it). */
  maxPerMinute: number;
  /** Attempts of one message that fails (5xx, network, timeout) before it is given up. A 429 is not a failure. */
  maxAttempts: number;
  /** ms one POST may take. */
  timeoutMs: number;
  /** @default 1_000 // ms before the first retry of a failure, doubling up to 60 s. */
  backoffMs?: number;
  /** Counts each message's outcome (sent, rejected, failed, dropped). */
  onOutcome?: (outcome: SlackOutcome) => void;
}

export type SlackOutcome = 'sent' | 'rejected' | 'failed' | 'dropped';

/** @default 300 // s: the longest Retry-After honoured as given; a longer one is waited in this much. */
const MAX_RETRY_AFTER_SECONDS = 300;
/** @default 10_000 // keys remembered for deduplication (two per alert; oldest forgotten first). */
const REMEMBERED_KEYS = 10_000;
/** @default 60_000 // ms: the longest backoff between two failed attempts. */
const MAX_BACKOFF_MS = 60_000;

/** Seconds a 429 asks to wait: Retry-After as delay-seconds (what Slack sends) or an HTTP date; 1 when absent or unreadable. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number {
  if (header === null) return 1;
  const seconds = /^\s*\d+\s*$/.test(header) ? Number(header) : (Date.parse(header) - now) / 1000;
  if (!Number.isFinite(seconds)) return 1;
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(0, seconds));
}

type Attempt = { outcome: 'sent' } | { outcome: 'rejected'; reason: string } | { outcome: 'retry'; reason: string; waitMs: number; failure: boolean };

/**
 * Posts messages to a Slack incoming webhook, one at a time and in order (an alert's resolve
 * never overtakes its raise), at most `maxPerMinute`. Each message has a key: a key queued or
 * sent before is ignored, so an alert is announced once per transition. A 429 is retried
 * after its Retry-After for as long as it takes; a 5xx, a network error or a timeout with
 * backoff up to `maxAttempts`; any other answer (400 `invalid_payload`, 403, 404
 * `no_service`, 410 `channel_is_archived`) will not get better and is logged and given up.
 * Logs say which message and why, never the URL.
 */
export function createSlackNotifier(options: SlackNotifierOptions) {
  const { logger } = options;
  const spacingMs = 60_000 / options.maxPerMinute;
  const keys = new Set<string>();
  const queue: Array<{ key: string; message: SlackMessage }> = [];
  const stopping = new AbortController();
  let lastSentAt = Number.NEGATIVE_INFINITY;
  let running: Promise<void> | null = null;

  const wait = (ms: number) => sleep(ms, undefined, { signal: stopping.signal }).catch(() => undefined);

  async function attempt(body: string): Promise<Attempt> {
    let response: Response;
    try {
      response = await fetch(options.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.any([AbortSignal.timeout(options.timeoutMs), stopping.signal]),
      });
    } catch (error) {
      // The error's message may quote the URL; its name and cause's code say enough.
      const code = (error as { cause?: { code?: string } }).cause?.code;
      return { outcome: 'retry', reason: `${(error as Error).name}${code ? ` ${code}` : ''}`, waitMs: 0, failure: true };
    }
    // Slack answers in plain text: "ok", or an error name such as "invalid_payload".
    const answer = (await response.text().catch(() => '')).slice(0, 200);
    if (response.ok) return { outcome: 'sent' };
    const reason = `HTTP ${response.status}${answer ? ` ${answer}` : ''}`;
    if (response.status === 429) return { outcome: 'retry', reason, waitMs: retryAfterSeconds(response.headers.get('retry-after')) * 1000, failure: false };
    if (response.status >= 500) return { outcome: 'retry', reason, waitMs: 0, failure: true };
    return { outcome: 'rejected', reason };
  }

  async function deliver(key: string, message: SlackMessage): Promise<void> {
    const body = JSON.stringify(message);
    let failures = 0;
    while (!stopping.signal.aborted) {
      await wait(lastSentAt + spacingMs - performance.now());
      if (stopping.signal.aborted) break;
      lastSentAt = performance.now();
      const result = await attempt(body);
      if (result.outcome === 'sent') {
        options.onOutcome?.('sent');
        return;
      }
      if (result.outcome === 'rejected') {
        options.onOutcome?.('rejected');
        logger.error({ key, reason: result.reason }, 'slack refused the alert message; not retried');
        return;
      }
      if (result.failure) failures += 1;
      if (failures >= options.maxAttempts) {
        options.onOutcome?.('failed');
        logger.error({ key, attempts: failures, reason: result.reason }, 'slack alert message not delivered; given up');
        return;
      }
      const waitMs = result.failure ? backoffAfter(failures, options.backoffMs ?? 1_000, MAX_BACKOFF_MS) : result.waitMs;
      logger.warn({ key, reason: result.reason, retryInMs: waitMs }, 'slack alert message not delivered; retrying');
      await wait(waitMs);
    }
    options.onOutcome?.('dropped');
    logger.warn({ key }, 'slack alert message not delivered before shutdown');
  }

  async function work(): Promise<void> {
    for (let next = queue.shift(); next; next = queue.shift()) await deliver(next.key, next.message);
    running = null;
  }

  return {
    /** Queues `message` unless `key` was queued before; returns whether it was queued. */
    notify(key: string, message: SlackMessage): boolean {
      if (keys.has(key) || stopping.signal.aborted) return false;
      keys.add(key);
      if (keys.size > REMEMBERED_KEYS) keys.delete(keys.values().next().value!);
      queue.push({ key, message });
      running ??= work();
      return true;
    },
    /** Settles when every queued message is sent or given up (for tests and shutdown). */
    async idle(): Promise<void> {
      while (running) await running;
    },
    /**
     * Stops sending, after giving the queue up to `graceMs` to drain (a resolve raised just
     * before shutdown still goes out); then a message in flight is aborted and queued ones
     * are dropped (and logged).
     */
    async stop(graceMs = 0): Promise<void> {
      if (running && graceMs > 0) await Promise.race([this.idle(), sleep(graceMs)]);
      stopping.abort();
      await running;
      for (const { key } of queue.splice(0)) {
        options.onOutcome?.('dropped');
        logger.warn({ key }, 'slack alert message not delivered before shutdown');
      }
    },
  };
}

export type SlackNotifier = ReturnType<typeof createSlackNotifier>;
