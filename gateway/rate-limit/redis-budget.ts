import { GraphQLError } from 'graphql';
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
import { type Limiter, type LimiterOutcome, type RateLimitAlgorithm, throttleStatusAfterRefund, throttleStatusOf } from './limiter.js';
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
  /** @default REFUND_HOLD_MS */
  refundHoldMs?: number;
}

/** Key prefix of every bucket, per algorithm, before the caller (`user:<id>`, `apiKey:<id>`, `ip:<addr>`). */
const KEY_PREFIX: Record<RateLimitAlgorithm, string> = { 'token-bucket': 'ratelimit:cost:', 'sliding-window': 'ratelimit:requests:' };

/**
 * @default 1_000 // 1 s: how long `refundLater` holds a refund for the caller's next take
 * (which then carries it in its own script run) before sending it alone. Until then other
 * gateway processes see the bucket without it: at most a second's wait for that caller.
 */
const REFUND_HOLD_MS = 1_000;

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
 * Refunds after execution (`refundLater`) cost no round trip of their own: held per caller,
 * they ride with that caller's next take (one script run for both) or go out within REFUND_HOLD_MS.
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

  /** Refunds not sent yet, by bucket key. */
  const held = new Map<string, { principal: Principal; amount: number }>();
  let flushTimer: NodeJS.Timeout | undefined;

  const budget: CostBudget = {
    async take(principal, cost, count): Promise<BudgetDecision> {
      const nowMs = clock.now().getTime();
      const plan = planOf(principal);
      const key = keyOf(principal);
      // A refund held for this caller goes with this take; should the take fail, it is lost like any write to a Redis that is down.
      const credit = held.get(key)?.amount ?? 0;
      held.delete(key);
      const { outcome, inProcess } = await run(principal, (limiter) => limiter.take(key, plan, amountOf(cost), nowMs, credit, count));
      const status = throttleStatusOf(algorithm, plan, outcome, nowMs);
      metrics.decisionsBy[`${outcome.allowed ? 'allowed' : 'refused'}${inProcess ? '_in_process' : ''}`].inc();
      if (outcome.allowed) return outcome.counted ? { allowed: true, status, counted: outcome.counted } : { allowed: true, status };
      metrics.throttled.inc({ reason: refusalReason, tier: tierOf(plansNow(), principal) });
      return { allowed: false, status, retryAfterSeconds: Math.max(1, Math.ceil(outcome.retryAfterMs / 1_000)) };
    },
    async refund(principal, amount): Promise<ThrottleStatus> {
      const nowMs = clock.now().getTime();
      const plan = planOf(principal);
      const { outcome } = await run(principal, (limiter) => limiter.refund(keyOf(principal), plan, amountOf(amount), nowMs));
      return throttleStatusOf(algorithm, plan, outcome, nowMs);
    },
    refundLater(principal, amount, taken): ThrottleStatus {
      const credit = amountOf(amount);
      if (credit === 0 || algorithm !== 'token-bucket') return taken;
      const key = keyOf(principal);
      const entry = held.get(key);
      if (entry) entry.amount += credit;
      else held.set(key, { principal, amount: credit });
      flushTimer ??= setTimeout(() => void budget.flushRefunds(), options.refundHoldMs ?? REFUND_HOLD_MS).unref();
      return throttleStatusAfterRefund(taken, credit, clock.now().getTime());
    },
    async flushRefunds() {
      clearTimeout(flushTimer);
      flushTimer = undefined;
      const refunds = [...held.values()];
      held.clear();
      await Promise.all(
        refunds.map(({ principal, amount }) =>
          budget.refund(principal, amount).catch((error: unknown) => {
            // SERVICE_UNAVAILABLE (fail-closed, Redis down) was logged by `run`: the refund is lost with the outage.
            if (!(error instanceof GraphQLError)) options.logger.error({ err: error }, 'rate limits: a held refund could not be sent');
          }),
        ),
      );
    },
    async peek(principal): Promise<ThrottleStatus> {
      const nowMs = clock.now().getTime();
      const plan = planOf(principal);
      const { outcome } = await run(principal, (limiter) => limiter.peek(keyOf(principal), plan, nowMs));
      return throttleStatusOf(algorithm, plan, outcome, nowMs);
    },
  };
  return budget;
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
  // Bound once: inc() with a labels object hashes them on every call, and every take counts one.
  const decisionsBy = Object.fromEntries(OUTCOMES.map((outcome) => [outcome, decisions.labels(outcome)])) as Record<(typeof OUTCOMES)[number], ReturnType<typeof decisions.labels>>;
  return { throttled, decisions, decisionsBy };
}
