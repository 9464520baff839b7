import type { CappedCount, CappedCountOutcome } from '../../lib/capped-counter.js';
import type { ThrottleStatus } from '../cost/budget.js';
import type { RateLimitPlan } from './plans.js';

export type RateLimitAlgorithm = 'token-bucket' | 'sliding-window';

/** One step on one caller's limiter, in the algorithm's own units (cost or requests). */
export interface LimiterOutcome {
  allowed: boolean;
  /** What the caller may still spend now. */
  available: number;
  /** Until what was asked for fits (0 when allowed). */
  retryAfterMs: number;
  /** Until the limiter is full again (0 when full). */
  resetAfterMs: number;
  /** The take's capped counter, when it counted it (see Limiter.take). */
  counted?: CappedCountOutcome;
  /** Tokens taken beyond `amount` for the caller to spend locally (see Limiter.take's `lease`); absent: none. */
  leased?: number;
}

/**
 * A rate-limit algorithm over a store (Redis, or the in-process stand-in). `key` names the
 * caller's bucket; `nowMs` is the gateway's clock, passed in so every step of one caller is
 * judged against one timeline (and tests can move it).
 */
export interface Limiter {
  readonly algorithm: RateLimitAlgorithm;
  /**
   * Takes `amount` when it fits; `credit` (refunds held back by this process, see
   * redis-budget.ts) is given back first, in the same atomic step. A request-count limiter ignores it.
   * `count`, when the take is allowed, is counted in the same step (`counted`) by a limiter that
   * can (the Redis token bucket); one that cannot leaves `counted` out and the caller counts it.
   * `lease`: once the take is allowed, up to that many whole tokens more, as the bucket holds
   * them, taken in the same step (`leased`); a limiter that cannot lease leaves `leased` out.
   */
  take(key: string, plan: RateLimitPlan, amount: number, nowMs: number, credit?: number, count?: CappedCount, lease?: number): Promise<LimiterOutcome>;
  refund(key: string, plan: RateLimitPlan, amount: number, nowMs: number): Promise<LimiterOutcome>;
  peek(key: string, plan: RateLimitPlan, nowMs: number): Promise<LimiterOutcome>;
}

/** The size and restore rate a plan gives each algorithm, as the throttle status shows them. */
export function capacityOf(algorithm: RateLimitAlgorithm, plan: RateLimitPlan): { maximum: number; restorePerSecond: number } {
  return algorithm === 'token-bucket'
    ? { maximum: plan.bucketSize, restorePerSecond: plan.restorePerSecond }
    : { maximum: plan.requestsPerWindow, restorePerSecond: plan.requestsPerWindow / plan.windowSeconds };
}

/**
 * A token bucket holding `tokens` after a step: how long until `wanted` fits (a cost larger
 * than the bucket waits for a full bucket, the most it can ever hold) and until it is full.
 */
export function tokenBucketOutcome(plan: RateLimitPlan, tokens: number, allowed: boolean, wanted: number): LimiterOutcome {
  const msPerToken = 1_000 / plan.restorePerSecond;
  const missing = Math.max(0, Math.min(wanted, plan.bucketSize) - tokens);
  return {
    allowed,
    available: Math.floor(tokens),
    retryAfterMs: allowed ? 0 : Math.ceil(missing * msPerToken),
    resetAfterMs: Math.ceil((plan.bucketSize - tokens) * msPerToken),
  };
}

/**
 * A sliding window holding `count` requests, the oldest and newest at those times: the next
 * request fits when the oldest leaves the window, and the window is empty when the newest does.
 */
export function slidingWindowOutcome(plan: RateLimitPlan, allowed: boolean, count: number, oldestMs: number | null, newestMs: number | null, nowMs: number): LimiterOutcome {
  const windowMs = plan.windowSeconds * 1_000;
  return {
    allowed,
    available: Math.max(0, plan.requestsPerWindow - count),
    retryAfterMs: allowed || oldestMs === null ? 0 : Math.max(1, oldestMs + windowMs - nowMs),
    resetAfterMs: newestMs === null ? 0 : Math.max(0, newestMs + windowMs - nowMs),
  };
}

/** A token bucket's status once `amount` is given back: capped at its size, full that much sooner. */
export function throttleStatusAfterRefund(status: ThrottleStatus, amount: number, nowMs: number): ThrottleStatus {
  const refilledSoonerMs = (amount * 1_000) / status.restoreRate;
  return {
    ...status,
    currentlyAvailable: Math.min(status.maximumAvailable, status.currentlyAvailable + amount),
    resetAtMs: Math.max(nowMs, status.resetAtMs - refilledSoonerMs),
  };
}

export function throttleStatusOf(algorithm: RateLimitAlgorithm, plan: RateLimitPlan, outcome: LimiterOutcome, nowMs: number): ThrottleStatus {
  const { maximum, restorePerSecond } = capacityOf(algorithm, plan);
  return {
    maximumAvailable: maximum,
    currentlyAvailable: outcome.available,
    restoreRate: restorePerSecond,
    resetAtMs: nowMs + outcome.resetAfterMs,
  };
}
