import { GraphQLError } from 'graphql';
import { Counter, type Registry } from 'prom-client';

import type { Principal } from '../../lib/auth/principal.js';
import type { CappedCount } from '../../lib/capped-counter.js';
import type { Clock } from '../../lib/clock.js';
import { SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS, serviceUnavailable } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { METRIC_NAMESPACE } from '../../lib/metrics.js';
import { isRedisUnavailable, type Redis } from '../../lib/redis.js';
import { throttledWarning } from '../../lib/throttled-warning.js';
import type { BudgetDecision, CostBudget, ThrottleStatus } from '../cost/budget.js';
import { inProcessSlidingWindow, inProcessTokenBucket } from './in-process-limiters.js';
import { type Limiter, type LimiterOutcome, type RateLimitAlgorithm, throttleStatusAfterRefund, throttleStatusOf, tokenBucketOutcome } from './limiter.js';
import { type RateLimitPlan, type RateLimitPlans, subjectOf, tierOf } from './plans.js';
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
  /** @default 0 // no leases: every take is a script run (see `Lease`; token bucket only). */
  leaseMs?: number;
}

/**
 * Tokens a process took from a caller's bucket ahead of need, for that caller's next takes
 * through this process to spend without a round trip (RATE_LIMIT_LEASE_MS). A caller gets
 * one only when it comes back within `leaseMs` of its last take (a busy caller: a partner's
 * batch, a dashboard's burst), first for FIRST_LEASE_TAKES takes of the current cost, then
 * twice the last lease each time one is used up in time and half of it when one ended with
 * tokens left (the caller is busy but slower than the lease), never less than the first and
 * never more than LEASE_SHARE of the bucket. What is left when it ends (`untilMs`) goes back
 * as a credit, like a held refund. Until then other processes see that caller's bucket short
 * by what this one holds.
 */
interface Lease {
  principal: Principal;
  tokens: number;
  /** What the last script run leased (0: none); the next lease is sized from it. */
  size: number;
  /** The caller's last take through this process, from the lease or not. */
  lastTakeMs: number;
  /** The bucket as that run left it, without the lease: the throttle status shows both. */
  bucketTokens: number;
  untilMs: number;
}

/** @default 0.01 // the most of a caller's bucket one process leases: other processes see that bucket at most 1 % short. */
const LEASE_SHARE = 0.01;
/** @default 4 // a caller's first lease covers this many takes of the cost it asked for. */
const FIRST_LEASE_TAKES = 4;
/** @default 100_000 // callers with a lease (or a record of their last take) per process: beyond, new callers take from Redis every time. */
const MAX_LEASES = 100_000;

/** How many tokens to lease with a take of `amount`, given the caller's lease before it. */
function leaseSizeOf(plan: RateLimitPlan, amount: number, previous: Lease | undefined, nowMs: number, leaseMs: number): number {
  const most = Math.floor(plan.bucketSize * LEASE_SHARE);
  // A lease that cannot hold one more take is no use; a caller not back in time gets none.
  if (amount <= 0 || most < amount || !previous || nowMs - previous.lastTakeMs >= leaseMs) return 0;
  const first = amount * FIRST_LEASE_TAKES;
  const usedUpInTime = nowMs < previous.untilMs;
  return Math.min(most, usedUpInTime ? Math.max(first, previous.size * 2) : Math.max(first, Math.floor(previous.size / 2)));
}

/** The status of a caller's token bucket whose `available` tokens count what this process leases it. */
function leasedStatus(plan: RateLimitPlan, available: number, nowMs: number): ThrottleStatus {
  return throttleStatusOf('token-bucket', plan, tokenBucketOutcome(plan, available, true, 0), nowMs);
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
 * With `leaseMs`, a busy caller's takes are mostly served from a lease this process took with
 * an earlier take (`Lease`): no round trip, at the price of the bucket other processes see
 * being short by the lease (at most LEASE_SHARE of it, for at most `leaseMs`).
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
  const leaseMs = algorithm === 'token-bucket' ? (options.leaseMs ?? 0) : 0;
  /** Leases by bucket key; an ended one with tokens left is sent back by the next flush. */
  const leases = new Map<string, Lease>();
  let flushTimer: NodeJS.Timeout | undefined;
  const scheduleFlush = () => {
    flushTimer ??= setTimeout(() => void flush(false), Math.max(options.refundHoldMs ?? REFUND_HOLD_MS, leaseMs)).unref();
  };
  /** Sends the held refunds and what ended leases (every lease when `all`, at shutdown) left. */
  const flush = async (all: boolean) => {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    const nowMs = clock.now().getTime();
    const refunds = [...held.values()];
    held.clear();
    for (const [key, lease] of leases) {
      if (!all && nowMs < lease.untilMs) continue;
      leases.delete(key);
      if (lease.tokens > 0) refunds.push({ principal: lease.principal, amount: lease.tokens });
    }
    if (leases.size > 0) scheduleFlush();
    await Promise.all(
      refunds.map(({ principal, amount }) =>
        budget.refund(principal, amount).catch((error: unknown) => {
          // SERVICE_UNAVAILABLE (fail-closed, Redis down) was logged by `run`: the refund is lost with the outage.
          if (!(error instanceof GraphQLError)) options.logger.error({ err: error }, 'rate limits: a held refund could not be sent');
        }),
      ),
    );
  };

  /** A take that goes to Redis: with it go the held refund and what the caller's lease has left, and a new lease is asked for. */
  async function takeFromRedis(principal: Principal, plan: RateLimitPlan, key: string, amount: number, lease: Lease | undefined, nowMs: number, count: CappedCount | undefined): Promise<BudgetDecision> {
    // A refund held for this caller and what its lease has left go with this take; should the take fail, they are lost like any write to a Redis that is down.
    const credit = (held.get(key)?.amount ?? 0) + (lease?.tokens ?? 0);
    held.delete(key);
    leases.delete(key);
    const wanted = leaseMs > 0 ? leaseSizeOf(plan, amount, lease, nowMs, leaseMs) : 0;
    const { outcome, inProcess } = await run(principal, (limiter) => limiter.take(key, plan, amount, nowMs, credit, count, wanted));
    const leased = outcome.leased ?? 0;
    if (leaseMs > 0 && outcome.allowed && leases.size < MAX_LEASES) {
      leases.set(key, { principal, tokens: leased, size: leased, lastTakeMs: nowMs, bucketTokens: outcome.available, untilMs: nowMs + leaseMs });
      scheduleFlush();
    }
    const status = leased ? leasedStatus(plan, outcome.available + leased, nowMs) : throttleStatusOf(algorithm, plan, outcome, nowMs);
    metrics.decisionsBy[`${outcome.allowed ? 'allowed' : 'refused'}${inProcess ? '_in_process' : ''}`].inc();
    if (outcome.allowed) return outcome.counted ? { allowed: true, status, counted: outcome.counted } : { allowed: true, status };
    metrics.throttled.inc({ reason: refusalReason, tier: tierOf(plansNow(), principal) });
    return { allowed: false, status, retryAfterSeconds: Math.max(1, Math.ceil(outcome.retryAfterMs / 1_000)) };
  }

  const budget: CostBudget = {
    take(principal, cost, count): BudgetDecision | Promise<BudgetDecision> {
      const nowMs = clock.now().getTime();
      const plan = planOf(principal);
      const key = keyOf(principal);
      const amount = amountOf(cost);
      const lease = leases.get(key);
      if (lease && nowMs < lease.untilMs && lease.tokens >= amount) {
        // Spent from the lease: no round trip, and `count` is left to its owner (not `counted`).
        lease.tokens -= amount;
        lease.lastTakeMs = nowMs;
        metrics.decisionsBy.allowed_leased.inc();
        return { allowed: true, status: leasedStatus(plan, lease.bucketTokens + lease.tokens, nowMs) };
      }
      return takeFromRedis(principal, plan, key, amount, lease, nowMs, count);
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
      const nowMs = clock.now().getTime();
      const lease = leases.get(key);
      // A caller with a lease gets the refund into it, to spend here or to go back with it.
      if (lease && nowMs < lease.untilMs) lease.tokens += credit;
      else {
        const entry = held.get(key);
        if (entry) entry.amount += credit;
        else held.set(key, { principal, amount: credit });
        scheduleFlush();
      }
      return throttleStatusAfterRefund(taken, credit, nowMs);
    },
    flushRefunds: () => flush(true),
    async peek(principal): Promise<ThrottleStatus> {
      const nowMs = clock.now().getTime();
      const plan = planOf(principal);
      const key = keyOf(principal);
      const { outcome } = await run(principal, (limiter) => limiter.peek(key, plan, nowMs));
      const lease = leases.get(key);
      const leased = lease && nowMs < lease.untilMs ? lease.tokens : 0;
      return leased ? leasedStatus(plan, outcome.available + leased, nowMs) : throttleStatusOf(algorithm, plan, outcome, nowMs);
    },
  };
  return budget;
}

/** A cost as the scripts may take it: a negative or non-finite one would fill the bucket, so it counts as 0. */
const amountOf = (cost: number) => (Number.isFinite(cost) ? Math.max(0, cost) : 0);

const REASONS = ['cost', 'requests', 'redis_unavailable'] as const;
const OUTCOMES = ['allowed', 'allowed_leased', 'refused', 'allowed_in_process', 'refused_in_process', 'unavailable'] as const;

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
    help: 'Rate-limit decisions: allowed or refused (by Redis, or *_in_process by the stand-in while Redis is down), allowed_leased (from tokens this process leased, no round trip), unavailable (refused because Redis is down).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const reason of REASONS) for (const tier of tiers) throttled.inc({ reason, tier }, 0);
  for (const outcome of OUTCOMES) decisions.inc({ outcome }, 0);
  // Bound once: inc() with a labels object hashes them on every call, and every take counts one.
  const decisionsBy = Object.fromEntries(OUTCOMES.map((outcome) => [outcome, decisions.labels(outcome)])) as Record<(typeof OUTCOMES)[number], ReturnType<typeof decisions.labels>>;
  return { throttled, decisions, decisionsBy };
}
