import type { ExecutionArgs } from 'graphql';

import type { Principal } from '../../lib/auth/principal.js';
import type { CappedCount, CappedCountOutcome } from '../../lib/capped-counter.js';

/**
 * What a caller may still spend, as `extensions.cost.throttleStatus` and the `rateLimit` field
 * show it (Shopify's throttle status, GitHub's rateLimit object).
 */
export interface ThrottleStatus {
  /** The bucket's size: the most cost one caller can spend at once. */
  maximumAvailable: number;
  /** Cost left in the bucket now. */
  currentlyAvailable: number;
  /** Cost restored per second. */
  restoreRate: number;
  /** When the bucket is full again (ms since the epoch; the `rateLimit` field shows it as ISO-8601). */
  resetAtMs: number;
}

export type BudgetDecision =
  /** `counted`: the take's capped counter, when the budget counted it with the take. */
  | { allowed: true; status: ThrottleStatus; counted?: CappedCountOutcome }
  /** Refused: nothing was taken; `retryAfterSeconds` (whole seconds, ≥ 1) until `cost` fits. */
  | { allowed: false; status: ThrottleStatus; retryAfterSeconds: number };

/**
 * The per-caller cost budget over time, the seam between the cost analysis (`gateway/cost/`,
 * which prices operations) and the rate limiter (`gateway/rate-limit/`, which keeps buckets,
 * in Redis in production). The bucket is chosen from the principal: its user, API key or,
 * for anonymous callers, client IP; its size and restore rate from the principal's plan.
 */
export interface CostBudget {
  /**
   * Takes `cost` from the caller's bucket when it fits, in one atomic step. When it fits,
   * `count` (the monthly request quota) is counted in that same step where the budget can (Redis,
   * token bucket: no round trip of its own), and the decision says how in `counted`; without
   * `counted` it was not counted (the in-process stand-in, the sliding window, a lease), and the caller counts it.
   * A decision this process makes alone (from a lease) comes at once, not as a promise.
   */
  take(principal: Principal, cost: number, count?: CappedCount): BudgetDecision | Promise<BudgetDecision>;
  /** Gives back `amount`, never above the bucket's size; resolves once the bucket has it. */
  refund(principal: Principal, amount: number): Promise<ThrottleStatus>;
  /**
   * Gives back `amount` (estimated minus actual cost) without a round trip of its own: the
   * budget holds it and sends it with the caller's next `take` through this budget, or on its
   * own within a short delay (`flushRefunds` sends what is held at once). Returns the status
   * `taken` (the answer of the take being refunded) predicts once the refund is in.
   */
  refundLater(principal: Principal, amount: number, taken: ThrottleStatus): ThrottleStatus;
  /** Sends every refund `refundLater` still holds (at shutdown); never rejects. */
  flushRefunds(): Promise<void>;
  /** The caller's bucket as it is now, taking nothing (the `rateLimit` field). */
  peek(principal: Principal): Promise<ThrottleStatus>;
}

/**
 * A counter the cost limits count with each operation's charge, in the take's own round trip
 * (the monthly request quota, gateway/plans/use-request-quota.ts), so the two cost one.
 */
export interface CountedWithCharge {
  /** The operation's counter; null: nothing to count. */
  counterOf(args: ExecutionArgs): CappedCount | null;
  /** What counting it came to; not called when the take did not count it (the counter's owner then counts it). */
  counted(args: ExecutionArgs, outcome: CappedCountOutcome): void;
}
