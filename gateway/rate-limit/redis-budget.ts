import { Counter, type Registry } from 'prom-client';

import type { Principal } from '../../lib/auth/principal.js';
import type { Clock } from '../../lib/clock.js';
import { SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS, serviceUnavailable } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { METRIC_NAMESPACE } from '../../lib/metrics.js';
import { isRedisUnavailable, type Redis } from '../../lib/redis.js';
import { throttledWarning } from '../../lib/throttled-warning.js';
import type { BudgetDecision, CostBudget, ThrottleStatus } from '../cost/budget.js';
import { inProcessSlidingWindow, inProcessTokenBucket } from './in-process-limiters.js';
import { type Limiter, type LimiterOutcome, type RateLimitAlgorithm, throttleStatusOf } from './limiter.js';
import { type RateLimitPlans, subjectOf, tierOf } from './plans.js';
import { redisSlidingWindow, redisTokenBucket } from './redis-limiters.js';

/** What happens while Redis does not answer: `open` serves from an in-process bucket, `closed` refuses. */
export type RateLimitFailurePolicy = 'open' | 'closed';

export interface RedisCostBudgetOptions {
  redis: Redis;
  /** The limits per tier, or a function giving them now (the plan catalogue, gateway/plans/). */
  plans: RateLimitPlans | (() => RateLimitPlans);
  clock: Clock;
  /** @default 'token-bucket' */
  algorithm?: RateLimitAlgorithm;
  failurePolicy: RateLimitFailurePolicy;
  logger: Logger;
  registry: Registry;
}

/** Key prefix of every bucket, per algorithm, before the caller (`user:<id>`, `apiKey:<id>`, `ip:<addr>`). */
const KEY_PREFIX: Record<RateLimitAlgorithm, string> = { 'token-bucket': 'ratelimit:cost:', 'sliding-window': 'ratelimit:requests:' };

/** Nothing ran, and retrying later will work: HTTP 503 with Retry-After. */
const unavailable = () =>
  serviceUnavailable('Rate limits cannot be checked right now; retry later', {
    http: { status: 503, headers: { 'retry-after': String(SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS) } },
  });

/**
 * The cost budget over time (`CostBudget`) kept in Redis, so every gateway process draws from
 * one bucket per caller: each step is one Lua script run with EVALSHA, one round trip, atomic.
 * The caller's plan tier (unknown tiers: `free`) sets the bucket; the injected clock sets the
 * time. With the sliding-window algorithm each request costs one and refunds change nothing.
 *
 * When Redis does not answer (`isRedisUnavailable`), `failurePolicy` decides: `open` answers
 * from an in-process limiter of the same algorithm (each process then enforces the limit
 * alone), `closed` throws SERVICE_UNAVAILABLE (HTTP 503, Retry-After) from every method.
 * Any other error (a bug, a script error) propagates.
 */
export function createRedisCostBudget(options: RedisCostBudgetOptions): CostBudget {
  const { clock, failurePolicy } = options;
  const plansNow = typeof options.plans === 'function' ? options.plans : () => options.plans as RateLimitPlans;
  const algorithm = options.algorithm ?? 'token-bucket';
  const shared: Limiter = algorithm === 'token-bucket' ? redisTokenBucket(options.redis) : redisSlidingWindow(options.redis);
  const standIn: Limiter = algorithm === 'token-bucket' ? inProcessTokenBucket() : inProcessSlidingWindow();
  const metrics = rateLimitMetrics(options.registry, Object.keys(plansNow()));
  const warn = throttledWarning(options.logger, `rate limits: Redis unavailable, ${failurePolicy === 'open' ? 'serving from in-process buckets' : 'refusing requests'} (RATE_LIMIT_REDIS_FAILURE=${failurePolicy})`);
  const refusalReason = algorithm === 'token-bucket' ? 'cost' : 'requests';

  /** Runs `step` on Redis, or per the failure policy; says which answered. */
  async function run(principal: Principal, step: (limiter: Limiter) => Promise<LimiterOutcome>): Promise<{ outcome: LimiterOutcome; inProcess: boolean }> {
    try {
      return { outcome: await step(shared), inProcess: false };
    } catch (error) {
      if (!isRedisUnavailable(error)) throw error;
      warn(error);
      if (failurePolicy === 'closed') {
        metrics.decisions.inc({ outcome: 'unavailable' });
        metrics.throttled.inc({ reason: 'redis_unavailable', tier: tierOf(plansNow(), principal) });
        throw unavailable();
      }
      return { outcome: await step(standIn), inProcess: true };
    }
  }

  const keyOf = (principal: Principal) => KEY_PREFIX[algorithm] + subjectOf(principal);
  const planOf = (principal: Principal) => {
    const plans = plansNow();
    return plans[tierOf(plans, principal)]!;
  };

  return {
    async take(principal, cost): Promise<BudgetDecision> {
      const nowMs = clock.now().getTime();
      const plan = planOf(principal);
      const { outcome, inProcess } = await run(principal, (limiter) => limiter.take(keyOf(principal), plan, amountOf(cost), nowMs));
      const status = throttleStatusOf(algorithm, plan, outcome, nowMs);
      metrics.decisions.inc({ outcome: `${outcome.allowed ? 'allowed' : 'refused'}${inProcess ? '_in_process' : ''}` });
      if (outcome.allowed) return { allowed: true, status };
      metrics.throttled.inc({ reason: refusalReason, tier: tierOf(plansNow(), principal) });
      return { allowed: false, status, retryAfterSeconds: Math.max(1, Math.ceil(outcome.retryAfterMs / 1_000)) };
    },
    async refund(principal, amount): Promise<ThrottleStatus> {
      const nowMs = clock.now().getTime();
      const plan = planOf(principal);
      const { outcome } = await run(principal, (limiter) => limiter.refund(keyOf(principal), plan, amountOf(amount), nowMs));
      return throttleStatusOf(algorithm, plan, outcome, nowMs);
    },
    async peek(principal): Promise<ThrottleStatus> {
      const nowMs = clock.now().getTime();
      const plan = planOf(principal);
      const { outcome } = await run(principal, (limiter) => limiter.peek(keyOf(principal), plan, nowMs));
      return throttleStatusOf(algorithm, plan, outcome, nowMs);
    },
  };
}

/** A cost as the scripts may take it: a negative or non-finite one would fill the bucket, so it counts as 0. */
const amountOf = (cost: number) => (Number.isFinite(cost) ? Math.max(0, cost) : 0);

const REASONS = ['cost', 'requests', 'redis_unavailable'] as const;
const OUTCOMES = ['allowed', 'refused', 'allowed_in_process', 'refused_in_process', 'unavailable'] as const;

/** Bounded labels: reasons and outcomes are fixed, tiers are the configured plans. */
function rateLimitMetrics(registry: Registry, tiers: string[]) {
  const throttled = new Counter({
    name: `${METRIC_NAMESPACE}_gateway_throttled_requests_total`,
    help: 'Requests refused by the rate limiter: reason cost (bucket empty), requests (window full) or redis_unavailable (RATE_LIMIT_REDIS_FAILURE=closed), per plan tier.',
    labelNames: ['reason', 'tier'],
    registers: [registry],
  });
  const decisions = new Counter({
    name: `${METRIC_NAMESPACE}_rate_limit_decisions_total`,
    help: 'Rate-limit decisions: allowed or refused (by Redis, or *_in_process by the stand-in while Redis is down), unavailable (refused because Redis is down).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const reason of REASONS) for (const tier of tiers) throttled.inc({ reason, tier }, 0);
  for (const outcome of OUTCOMES) decisions.inc({ outcome }, 0);
  return { throttled, decisions };
}
