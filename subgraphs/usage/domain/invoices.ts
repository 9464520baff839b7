import type { Clock } from '../../../lib/clock.js';
import type { Logger } from '../../../lib/logger.js';
import type { AggregatesRepository } from '../data/aggregates-repository.js';
import type { InvoicesRepository, StoredInvoice } from '../data/invoices-repository.js';
import { periodName, previousPeriodOf } from './billing-period.js';

/** What an invoice bills from a plan: its price, quotas and overage prices, in integer cents. */
export interface BilledPlan {
  id: string;
  displayName: string;
  priceCentsPerMonth: number;
  monthlyTokenQuota: number;
  /** A hard quota refuses past it (QUOTA_EXCEEDED), so nothing beyond it is billed. */
  tokenQuotaHard: boolean;
  overageCentsPerThousandTokens: number;
  monthlyRequestQuota: number;
  requestQuotaHard: boolean;
  overageCentsPerThousandRequests: number;
}

export type InvoiceLineKind = 'BASE' | 'INCLUDED_TOKENS' | 'TOKEN_OVERAGE' | 'REQUEST_OVERAGE';

/** One line: quantity × unit price = amount, all integers (money in cents, never floats). */
export interface InvoiceLine {
  kind: InvoiceLineKind;
  description: string;
  quantity: number;
  unitPriceCents: number;
  amountCents: number;
}

/** Overage is billed per started block of this many tokens, or of this many requests. */
export const OVERAGE_BLOCK_SIZE = 1_000;

function safeInteger(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} is too large to bill`);
  return Number(value);
}

/** The started blocks of OVERAGE_BLOCK_SIZE beyond `quota`, and what they cost at `centsPerBlock`. */
function overageOf(used: bigint, quota: bigint, centsPerBlock: number): { over: bigint; blocks: bigint; cents: bigint } {
  const over = used > quota ? used - quota : 0n;
  const blocks = (over + BigInt(OVERAGE_BLOCK_SIZE) - 1n) / BigInt(OVERAGE_BLOCK_SIZE);
  return { over, blocks, cents: blocks * BigInt(centsPerBlock) };
}

/**
 * The lines and total of one user's invoice for one period: the plan's base price, the tokens
 * (in + out) the quota includes, and, for each quota that is soft, each started 1,000 tokens
 * or requests beyond it at the plan's overage price (a hard quota bills no overage: what got
 * past it, such as jobs already running when it was reached, is not charged). Computed in
 * integer cents (BigInt where products could grow).
 */
export function invoiceLinesFor(
  plan: BilledPlan,
  usage: { requests: number; tokensIn: number; tokensOut: number },
): { lines: InvoiceLine[]; totalCents: number } {
  const tokens = BigInt(usage.tokensIn) + BigInt(usage.tokensOut);
  const tokenQuota = BigInt(plan.monthlyTokenQuota);
  const included = tokens < tokenQuota ? tokens : tokenQuota;
  const lines: InvoiceLine[] = [
    { kind: 'BASE', description: `${plan.displayName} plan`, quantity: 1, unitPriceCents: plan.priceCentsPerMonth, amountCents: plan.priceCentsPerMonth },
    {
      kind: 'INCLUDED_TOKENS',
      description: `Tokens included (${plan.monthlyTokenQuota} per month)`,
      quantity: safeInteger(included, 'included tokens'),
      unitPriceCents: 0,
      amountCents: 0,
    },
  ];
  let totalCents = BigInt(plan.priceCentsPerMonth);
  const overages = [
    { kind: 'TOKEN_OVERAGE', what: 'Tokens', hard: plan.tokenQuotaHard, used: tokens, quota: tokenQuota, price: plan.overageCentsPerThousandTokens },
    {
      kind: 'REQUEST_OVERAGE',
      what: 'Requests',
      hard: plan.requestQuotaHard,
      used: BigInt(usage.requests),
      quota: BigInt(plan.monthlyRequestQuota),
      price: plan.overageCentsPerThousandRequests,
    },
  ] as const;
  for (const { kind, what, hard, used, quota, price } of overages) {
    const overage = overageOf(used, quota, price);
    if (hard || overage.over === 0n) continue;
    lines.push({
      kind,
      description: `${what} beyond the quota, per started ${OVERAGE_BLOCK_SIZE}`,
      quantity: safeInteger(overage.blocks, `${what.toLowerCase()} overage blocks`),
      unitPriceCents: price,
      amountCents: safeInteger(overage.cents, `${what.toLowerCase()} overage`),
    });
    totalCents += overage.cents;
  }
  return { lines, totalCents: safeInteger(totalCents, 'invoice total') };
}

/**
 * @default 3_600_000 // 1 h after a period ends before the schedule closes it: events of its
 * last seconds are still on their way through the stream and must be on the invoice.
 */
export const CLOSE_GRACE_MS = 3_600_000;

/**
 * Closes the last ended billing period every `intervalMs` (once its grace has passed), and
 * once at start. Closing is idempotent, so every replica may run it; a failure is logged and
 * tried again at the next tick.
 */
export function createBillingSchedule(deps: {
  intervalMs: number;
  clock: Clock;
  logger: Logger;
  closePeriod: (period: { start: Date; end: Date }) => Promise<unknown>;
}) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    const now = deps.clock.now();
    const period = previousPeriodOf(now);
    if (now.getTime() - period.end.getTime() < CLOSE_GRACE_MS) return;
    try {
      await deps.closePeriod(period);
    } catch (error) {
      deps.logger.error({ err: error, period: periodName(period.start) }, 'closing the billing period failed; retrying at the next tick');
    }
  };
  return {
    start(): void {
      if (deps.intervalMs <= 0 || timer) return;
      running = tick();
      timer = setInterval(() => {
        running = running.then(tick);
      }, deps.intervalMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      await running;
    },
  };
}

/** The outcome of closing a period: every invoice of it, and how many this call wrote. */
export interface PeriodClosing {
  period: { start: Date; end: Date };
  invoices: StoredInvoice[];
  created: number;
}

/**
 * Closes a billing period: one invoice per user who has metered usage in it or an account on
 * a plan, priced from that plan (users without an account are on the default plan). Closing
 * again writes nothing new and returns the same invoices; export entries are written with
 * the invoices, and `exported()` is told when there are new ones.
 */
export function createPeriodCloser(deps: {
  aggregates: Pick<AggregatesRepository, 'periodUsers'>;
  invoices: InvoicesRepository;
  defaultPlanId: string;
  exportBody: ((invoice: StoredInvoice) => string) | null;
  exported?: () => void;
}) {
  return async function closePeriod(period: { start: Date; end: Date }): Promise<PeriodClosing> {
    const [usageByUser, accounts] = await Promise.all([deps.aggregates.periodUsers(period.start), deps.invoices.accountsWithPlans()]);
    const planOfUser = new Map(accounts.map((account) => [account.userId, account.plan]));
    const defaultPlan = await deps.invoices.planById(deps.defaultPlanId);
    if (!defaultPlan) throw new Error(`the default plan ${deps.defaultPlanId} does not exist`);
    const usage = new Map(usageByUser.map((row) => [row.userId, row]));
    const userIds = [...new Set([...usage.keys(), ...accounts.filter((account) => account.createdAt < period.end).map((account) => account.userId)])].sort();
    const invoices: StoredInvoice[] = [];
    let created = 0;
    for (const userId of userIds) {
      const plan = planOfUser.get(userId) ?? defaultPlan;
      const { lines, totalCents } = invoiceLinesFor(plan, usage.get(userId) ?? { requests: 0, tokensIn: 0, tokensOut: 0 });
      const result = await deps.invoices.createOnce(
        { userId, periodStart: period.start, periodEnd: period.end, planId: plan.id, amountCents: totalCents, lines },
        deps.exportBody,
      );
      invoices.push(result.invoice);
      if (result.created) created += 1;
    }
    if (created > 0) deps.exported?.();
    return { period, invoices, created };
  };
}
