import { setBounded } from '../../lib/bounded-map.js';
import { type Limiter, slidingWindowOutcome, tokenBucketOutcome } from './limiter.js';
import type { RateLimitPlan } from './plans.js';

/**
 * @default 100_000 // callers remembered by one process; beyond, the longest-known is
 * forgotten (starts full again), so an outage under many client IPs cannot exhaust memory.
 */
const MAX_CALLERS = 100_000;

/**
 * The token bucket of `redis-limiters.ts` in this process's memory: the stand-in while
 * Redis is unreachable with RATE_LIMIT_REDIS_FAILURE=open. Same arithmetic, one process's view.
 */
export function inProcessTokenBucket(): Limiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const step = (key: string, plan: RateLimitPlan, op: 'take' | 'refund' | 'peek', amount: number, nowMs: number, credit = 0) => {
    const size = plan.bucketSize;
    const state = buckets.get(key) ?? { tokens: size, at: nowMs };
    let { tokens, at } = state;
    if (nowMs > at) {
      tokens = Math.min(size, tokens + ((nowMs - at) * plan.restorePerSecond) / 1_000);
      at = nowMs;
    }
    let allowed = true;
    if (op === 'take') {
      tokens = Math.min(size, tokens + credit);
      allowed = tokens >= amount;
      if (allowed) tokens -= amount;
    } else if (op === 'refund') {
      tokens = Math.min(size, tokens + amount);
    }
    if (op !== 'peek') {
      if (tokens >= size) buckets.delete(key);
      else setBounded(buckets, key, { tokens, at }, MAX_CALLERS);
    }
    return { allowed, tokens };
  };
  return {
    algorithm: 'token-bucket',
    take: async (key, plan, amount, nowMs, credit) => {
      const { allowed, tokens } = step(key, plan, 'take', amount, nowMs, credit);
      return tokenBucketOutcome(plan, tokens, allowed, amount);
    },
    refund: async (key, plan, amount, nowMs) => tokenBucketOutcome(plan, step(key, plan, 'refund', amount, nowMs).tokens, true, amount),
    peek: async (key, plan, nowMs) => tokenBucketOutcome(plan, step(key, plan, 'peek', 0, nowMs).tokens, true, 0),
  };
}

/** The sliding window of `redis-limiters.ts` in this process's memory (times of requests in the window). */
export function inProcessSlidingWindow(): Limiter {
  const windows = new Map<string, number[]>();
  const step = (key: string, plan: RateLimitPlan, take: boolean, nowMs: number) => {
    const times = (windows.get(key) ?? []).filter((time) => time > nowMs - plan.windowSeconds * 1_000);
    const allowed = take && times.length < plan.requestsPerWindow;
    if (allowed) times.push(nowMs);
    if (times.length === 0) windows.delete(key);
    else setBounded(windows, key, times, MAX_CALLERS);
    return slidingWindowOutcome(plan, allowed, times.length, times[0] ?? null, times.at(-1) ?? null, nowMs);
  };
  return {
    algorithm: 'sliding-window',
    take: async (key, plan, _amount, nowMs) => step(key, plan, true, nowMs),
    refund: async (key, plan, _amount, nowMs) => step(key, plan, false, nowMs),
    peek: async (key, plan, nowMs) => step(key, plan, false, nowMs),
  };
}
