import { randomUUID } from 'node:crypto';

import { GraphQLError } from 'graphql';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CostBudget } from '../gateway/cost/budget.js';
import { createRedisCostBudget, type RateLimitFailurePolicy } from '../gateway/rate-limit/index.js';
import type { RateLimitAlgorithm } from '../gateway/rate-limit/limiter.js';
import type { RateLimitPlans } from '../gateway/rate-limit/plans.js';
import { anonymousPrincipal, type Principal } from '../lib/auth/principal.js';
import type { Clock } from '../lib/clock.js';
import { createLogger } from '../lib/logger.js';
import { connectRedis, deleteKeysWithPrefix, type Redis } from '../lib/redis.js';
import { testEnv } from './env.js';
import { freePort, OwnRedis } from './own-redis.js';

/**
 * The cost budget kept in Redis (gateway/rate-limit/), against real Redis: the shared one
 * under a key prefix of this file's own, and a redis-server of its own for the outages.
 * Time is a fake clock the scripts receive as an argument, so refills are exact.
 */
const plans: RateLimitPlans = {
  free: { bucketSize: 100, restorePerSecond: 10, requestsPerWindow: 3, windowSeconds: 60 },
  pro: { bucketSize: 1_000, restorePerSecond: 100, requestsPerWindow: 30, windowSeconds: 60 },
  enterprise: { bucketSize: 10_000, restorePerSecond: 100, requestsPerWindow: 300, windowSeconds: 60 },
  /** Restores one token in 1 000 s: what comes back within a test is a refund or a lease. */
  batch: { bucketSize: 10_000, restorePerSecond: 0.001, requestsPerWindow: 300, windowSeconds: 60 },
};

const fakeClock = (start = Date.parse('2026-01-01T00:00:00Z')) => {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) } satisfies Clock & { advance(ms: number): void };
};

const user = (plan = 'free'): Principal => {
  const id = randomUUID();
  return { ...anonymousPrincipal('127.0.0.1'), kind: 'user', userId: id, subject: `user:${id}`, plan };
};

const logger = createLogger({ name: 'rate-limit-test', level: testEnv.logLevel });

/** Refunds held long enough that only a take or flushRefunds sends them, unless a test says otherwise. */
const HOLD_UNTIL_FLUSHED_MS = 600_000;

function budgetOn(
  redis: Redis,
  clock: Clock,
  options: { algorithm?: RateLimitAlgorithm; failurePolicy?: RateLimitFailurePolicy; registry?: Registry; refundHoldMs?: number; leaseMs?: number } = {},
): CostBudget {
  return createRedisCostBudget({
    redis,
    plans,
    clock,
    logger,
    registry: options.registry ?? new Registry(),
    failurePolicy: options.failurePolicy ?? 'open',
    algorithm: options.algorithm,
    refundHoldMs: options.refundHoldMs ?? HOLD_UNTIL_FLUSHED_MS,
    leaseMs: options.leaseMs,
  });
}

/** The budget's decisions so far, by outcome (`lotabots_rate_limit_decisions_total`). */
async function decisionsOf(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('lotabots_rate_limit_decisions_total')!.get();
  return Object.fromEntries(metric.values.map(({ labels, value }) => [String(labels.outcome), value]));
}

describe('cost budget in the shared Redis', () => {
  const keyPrefix = `test:rate-limit:${randomUUID()}:`;
  const clients: Redis[] = [];
  const connect = async () => {
    const client = await connectRedis({ url: testEnv.redisUrl, keyPrefix });
    clients.push(client);
    return client;
  };

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await deleteKeysWithPrefix(testEnv.redisUrl, keyPrefix);
  });

  it('a budget drains by the cost taken and refills at the plan restore rate, never above its size', async () => {
    const clock = fakeClock();
    const budget = budgetOn(await connect(), clock);
    const caller = user();
    const first = await budget.take(caller, 70);
    expect(first).toMatchObject({ allowed: true, status: { maximumAvailable: 100, currentlyAvailable: 30, restoreRate: 10 } });
    expect(first.status.resetAtMs).toBe(clock.now().getTime() + 7_000);
    expect(await budget.take(caller, 50)).toEqual({ allowed: false, status: expect.objectContaining({ currentlyAvailable: 30 }), retryAfterSeconds: 2 });
    clock.advance(2_000);
    expect(await budget.peek(caller)).toMatchObject({ currentlyAvailable: 50 });
    expect(await budget.take(caller, 50)).toMatchObject({ allowed: true, status: { currentlyAvailable: 0 } });
    clock.advance(60_000);
    expect(await budget.peek(caller)).toMatchObject({ currentlyAvailable: 100 });
  });

  it('the refund of estimated minus actual cost comes back, capped at the bucket size', async () => {
    const budget = budgetOn(await connect(), fakeClock());
    const caller = user();
    await budget.take(caller, 80);
    expect(await budget.refund(caller, 50)).toMatchObject({ currentlyAvailable: 70 });
    expect(await budget.refund(caller, 500)).toMatchObject({ currentlyAvailable: 100 });
  });

  it('a refund after execution costs no round trip of its own: held, it rides with the next take, and its status is predicted at once', async () => {
    const clock = fakeClock();
    const budget = budgetOn(await connect(), clock);
    const caller = user();
    const taken = await budget.take(caller, 80);
    // 20 left, full in 8 s at 10 per second; 50 back: 70, full in 3 s.
    expect(budget.refundLater(caller, 50, taken.status)).toEqual({
      ...taken.status,
      currentlyAvailable: 70,
      resetAtMs: clock.now().getTime() + 3_000,
    });
    expect(await budget.peek(caller)).toMatchObject({ currentlyAvailable: 20 });
    // 20 + 50 held − 60, in the take's own script run.
    expect(await budget.take(caller, 60)).toMatchObject({ allowed: true, status: { currentlyAvailable: 10 } });
    expect(budget.refundLater(caller, 500, { ...taken.status, currentlyAvailable: 10 })).toMatchObject({ currentlyAvailable: 100 });
    expect(budget.refundLater(caller, -5, taken.status)).toBe(taken.status);
    await budget.flushRefunds();
    expect(await budget.peek(caller)).toMatchObject({ currentlyAvailable: 100 });
  });

  it('a held refund goes out on its own when no take comes for it', async () => {
    const budget = budgetOn(await connect(), fakeClock(), { refundHoldMs: 10 });
    const caller = user();
    const taken = await budget.take(caller, 30);
    budget.refundLater(caller, 30, taken.status);
    const deadline = Date.now() + 30_000;
    while ((await budget.peek(caller)).currentlyAvailable !== 100) {
      if (Date.now() > deadline) throw new Error('the held refund was never sent');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  it('a negative or non-numeric cost takes nothing and fills nothing', async () => {
    const budget = budgetOn(await connect(), fakeClock());
    const caller = user();
    await budget.take(caller, 90);
    expect(await budget.take(caller, -500)).toMatchObject({ allowed: true, status: { currentlyAvailable: 10 } });
    expect(await budget.take(caller, Number.NaN)).toMatchObject({ allowed: true, status: { currentlyAvailable: 10 } });
    expect(await budget.refund(caller, -5)).toMatchObject({ currentlyAvailable: 10 });
  });

  it('each plan tier gets its own size; an unknown tier gets the free plan', async () => {
    const budget = budgetOn(await connect(), fakeClock());
    expect(await budget.take(user('pro'), 500)).toMatchObject({ allowed: true, status: { maximumAvailable: 1_000, currentlyAvailable: 500 } });
    expect(await budget.peek(user('platinum'))).toMatchObject({ maximumAvailable: 100 });
  });

  it('keys name the caller, expire when the bucket would be full, and a full bucket leaves no key', async () => {
    const redis = await connect();
    const budget = budgetOn(redis, fakeClock());
    const caller = user();
    const anonymous = anonymousPrincipal('203.0.113.9');
    await budget.take(caller, 40);
    await budget.take(anonymous, 1);
    const ttl = await redis.pttl(`ratelimit:cost:${caller.subject}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(4_000);
    expect(await redis.exists('ratelimit:cost:ip:203.0.113.9')).toBe(1);
    await budget.refund(caller, 40);
    expect(await redis.exists(`ratelimit:cost:${caller.subject}`)).toBe(0);
  });

  it('a take counts its capped counter (the request quota) in its own script run, only when allowed, up to the limit', async () => {
    const redis = await connect();
    const budget = budgetOn(redis, fakeClock());
    const caller = user();
    const count = { key: `quota:requests:${caller.userId}:2026-01`, limit: 2, ttlSeconds: 3_600 };
    expect(await budget.take(caller, 10, count)).toMatchObject({ allowed: true, counted: { admitted: true, used: 1 } });
    expect(await redis.ttl(count.key)).toBeGreaterThan(3_500);
    // Refused by the bucket: nothing counted.
    expect(await budget.take(caller, 1_000, count)).not.toHaveProperty('counted');
    expect(await budget.take(caller, 10, count)).toMatchObject({ allowed: true, counted: { admitted: true, used: 2 } });
    // At the limit: the count is refused, the take is not.
    expect(await budget.take(caller, 10, count)).toMatchObject({ allowed: true, status: { currentlyAvailable: 70 }, counted: { admitted: false, used: 2 } });
    expect(await budget.take(caller, 10, { ...count, limit: null })).toMatchObject({ counted: { admitted: true, used: 3 } });
    expect(await redis.get(count.key)).toBe('3');
    // Without a counter nothing is counted; the sliding window never counts one (its caller does).
    expect(await budget.take(caller, 10)).not.toHaveProperty('counted');
    expect(await budgetOn(redis, fakeClock(), { algorithm: 'sliding-window' }).take(caller, 1, count)).not.toHaveProperty('counted');
    expect(await redis.get(count.key)).toBe('3');
  });

  it('two gateway processes (two clients, two budgets) draw from one bucket per caller', async () => {
    const clock = fakeClock();
    const [a, b] = [budgetOn(await connect(), clock), budgetOn(await connect(), clock)];
    const caller = user();
    await a.take(caller, 60);
    expect(await b.take(caller, 60)).toMatchObject({ allowed: false, status: { currentlyAvailable: 40 } });
    expect(await b.take(caller, 40)).toMatchObject({ allowed: true });
    expect(await a.peek(caller)).toMatchObject({ currentlyAvailable: 0 });
  });

  it('leases (RATE_LIMIT_LEASE_MS): a caller back within leaseMs spends tokens leased to this process, one script run per lease, doubling up to 1 % of its bucket', async () => {
    const clock = fakeClock();
    const registry = new Registry();
    const leasing = budgetOn(await connect(), clock, { leaseMs: 250, registry });
    const other = budgetOn(await connect(), clock);
    const caller = user('enterprise');
    const count = { key: `quota:requests:${caller.userId}:2026-01`, limit: null, ttlSeconds: 3_600 };
    // First take: no lease (a caller seen once is not busy); the quota is counted with it.
    expect(await leasing.take(caller, 5, count)).toMatchObject({ allowed: true, status: { currentlyAvailable: 9_995 }, counted: { admitted: true, used: 1 } });
    // Back in time: 5 + a lease of 4 × 5; the status counts the lease as the caller's.
    expect(await leasing.take(caller, 5, count)).toMatchObject({ allowed: true, status: { currentlyAvailable: 9_990 }, counted: { used: 2 } });
    expect(await other.peek(caller)).toMatchObject({ currentlyAvailable: 9_970 });
    // Four takes from the lease: no script run, decided at once (no promise), and the quota is left to its owner (not counted).
    for (const left of [9_985, 9_980, 9_975, 9_970]) {
      const decision = leasing.take(caller, 5, count);
      expect(decision).not.toBeInstanceOf(Promise);
      expect(decision).toEqual({ allowed: true, status: expect.objectContaining({ currentlyAvailable: left }) });
    }
    expect(await decisionsOf(registry)).toMatchObject({ allowed: 2, allowed_leased: 4 });
    // Used up in time: the next lease is twice the last (40), the one after 80, then capped at 1 % of 10 000.
    await leasing.take(caller, 5);
    expect(await other.peek(caller)).toMatchObject({ currentlyAvailable: 9_925 });
    for (let i = 0; i < 8; i++) await leasing.take(caller, 5);
    await leasing.take(caller, 5);
    expect(await other.peek(caller)).toMatchObject({ currentlyAvailable: 9_840 });
    for (let i = 0; i < 16; i++) await leasing.take(caller, 5);
    await leasing.take(caller, 5);
    expect(await other.peek(caller)).toMatchObject({ currentlyAvailable: 9_735 });
    expect(await decisionsOf(registry)).toMatchObject({ allowed: 5, allowed_leased: 28 });
    expect(await leasing.peek(caller)).toMatchObject({ currentlyAvailable: 9_835 });
    // A refund goes into the live lease; at shutdown what the lease has left goes back.
    leasing.refundLater(caller, 7, (await leasing.peek(caller)));
    await leasing.flushRefunds();
    expect(await other.peek(caller)).toMatchObject({ currentlyAvailable: 9_842 });
  });

  it('leases: a caller not back within leaseMs, or whose bucket is too small to lease one take from, takes from Redis every time; an ended lease goes back with the next take', async () => {
    const clock = fakeClock();
    const registry = new Registry();
    const leasing = budgetOn(await connect(), clock, { leaseMs: 250, registry });
    const other = budgetOn(await connect(), clock);
    const slow = user('enterprise');
    for (let i = 0; i < 5; i++) {
      await leasing.take(slow, 5);
      clock.advance(250);
    }
    // 1 % of the free plan's 100 is 1: no lease of a take of 5, however busy the caller.
    const small = user('free');
    for (let i = 0; i < 5; i++) expect(await leasing.take(small, 5)).toMatchObject({ allowed: true, status: { currentlyAvailable: 95 - 5 * i } });
    expect(await decisionsOf(registry)).toMatchObject({ allowed: 10, allowed_leased: 0 });
    // A busy caller's lease (20) ends unused but for one take (15 left): its next take carries it back.
    const busy = user('enterprise');
    await leasing.take(busy, 5);
    await leasing.take(busy, 5);
    await leasing.take(busy, 5);
    expect(await other.peek(busy)).toMatchObject({ currentlyAvailable: 9_970 });
    clock.advance(300);
    await leasing.take(busy, 5);
    // 9 970 + 30 restored (300 ms at 100/s) + 15 back − 5, capped at 10 000.
    expect(await other.peek(busy)).toMatchObject({ currentlyAvailable: 9_995 });
  });

  it('leases: a caller still busy when its lease ends with tokens left gets half of it next, not none; one not back in time gets none', async () => {
    const clock = fakeClock();
    const leasing = budgetOn(await connect(), clock, { leaseMs: 250 });
    const other = budgetOn(await connect(), clock);
    const caller = user('batch');
    await leasing.take(caller, 5);
    await leasing.take(caller, 5);
    for (let i = 0; i < 4; i++) await leasing.take(caller, 5);
    // The lease of 20 used up in time: the next is 40.
    await leasing.take(caller, 5);
    expect(await other.peek(caller)).toMatchObject({ currentlyAvailable: 9_925 });
    clock.advance(100);
    await leasing.take(caller, 5);
    await leasing.take(caller, 5);
    // Ended (250 ms) with 30 left, the caller's last take 200 ms ago: 30 back, 5 taken, a lease of 20.
    clock.advance(200);
    await leasing.take(caller, 5);
    expect(await other.peek(caller)).toMatchObject({ currentlyAvailable: 9_930 });
    // Not back within 250 ms of its last take: the 20 come back and no lease is taken.
    clock.advance(300);
    await leasing.take(caller, 5);
    expect(await other.peek(caller)).toMatchObject({ currentlyAvailable: 9_945 });
  });

  it('leases: what an ended lease has left goes back on its own when no take comes for it', async () => {
    const realClock: Clock = { now: () => new Date() };
    const leasing = budgetOn(await connect(), realClock, { leaseMs: 2_000, refundHoldMs: 10 });
    const other = budgetOn(await connect(), realClock);
    const caller = user('batch');
    await leasing.take(caller, 5);
    await leasing.take(caller, 5);
    await leasing.take(caller, 5);
    // 15 taken, 15 of the lease of 20 still held here.
    expect(await other.peek(caller)).toMatchObject({ currentlyAvailable: 9_970 });
    const deadline = Date.now() + 30_000;
    while ((await other.peek(caller)).currentlyAvailable < 9_985) {
      if (Date.now() > deadline) throw new Error('the lease was never given back');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await other.peek(caller)).toMatchObject({ currentlyAvailable: 9_985 });
  });

  it('sliding window: requestsPerWindow requests per window whatever their cost; refunds change nothing', async () => {
    const clock = fakeClock();
    const redis = await connect();
    const budget = budgetOn(redis, clock, { algorithm: 'sliding-window' });
    const caller = user();
    expect(await budget.take(caller, 5_000)).toMatchObject({ allowed: true, status: { maximumAvailable: 3, currentlyAvailable: 2, restoreRate: 0.05 } });
    clock.advance(10_000);
    await budget.take(caller, 1);
    await budget.take(caller, 1);
    expect(await budget.take(caller, 1)).toMatchObject({ allowed: false, retryAfterSeconds: 50 });
    expect(await budget.refund(caller, 1)).toMatchObject({ currentlyAvailable: 0 });
    const status = { maximumAvailable: 3, currentlyAvailable: 0, restoreRate: 0.05, resetAtMs: clock.now().getTime() };
    expect(budget.refundLater(caller, 1, status)).toBe(status);
    clock.advance(50_000);
    expect(await budget.take(caller, 1)).toMatchObject({ allowed: true, status: { currentlyAvailable: 0 } });
    expect(await redis.pttl(`ratelimit:requests:${caller.subject}`)).toBeGreaterThan(0);
  });
});

describe('cost budget when its Redis fails', () => {
  let own: OwnRedis;

  beforeAll(async () => {
    own = new OwnRedis(await freePort());
    await own.start();
  });

  afterAll(async () => {
    await own.kill();
  });

  it('still answers after SCRIPT FLUSH (EVALSHA falls back to loading the script again)', async () => {
    const redis = await connectRedis({ url: own.url, keyPrefix: 'p:' });
    try {
      const budget = budgetOn(redis, fakeClock());
      const caller = user();
      await budget.take(caller, 10);
      await redis.script('FLUSH');
      expect(await budget.take(caller, 10)).toMatchObject({ allowed: true, status: { currentlyAvailable: 80 } });
    } finally {
      redis.disconnect();
    }
  });

  it('regression: with Redis stopped, fail-open serves from an in-process bucket and fail-closed answers SERVICE_UNAVAILABLE, neither hangs nor crashes', async () => {
    const clock = fakeClock();
    const redis = await connectRedis({ url: own.url, keyPrefix: 'q:' });
    const registry = new Registry();
    const open = budgetOn(redis, clock, { registry });
    const closed = budgetOn(redis, clock, { failurePolicy: 'closed', algorithm: 'sliding-window' });
    const caller = user();
    try {
      await open.take(caller, 30);
      await own.kill();

      // Fail-open: an in-process bucket of the same plan stands in, and still limits.
      expect(await open.take(caller, 60)).toMatchObject({ allowed: true, status: { currentlyAvailable: 40 } });
      expect(await open.take(caller, 60)).toMatchObject({ allowed: false, retryAfterSeconds: 2 });
      expect(await open.refund(caller, 10)).toMatchObject({ currentlyAvailable: 50 });
      const metrics = await registry.metrics();
      expect(metrics).toMatch(/lotabots_rate_limit_decisions_total\{outcome="allowed_in_process"\} 1/);
      expect(metrics).toMatch(/lotabots_gateway_throttled_requests_total\{reason="cost",tier="free"\} 1/);

      // Fail-closed: refused, retryable, HTTP 503 with Retry-After.
      const refused = await Promise.resolve(closed.take(caller, 1)).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(GraphQLError);
      expect((refused as GraphQLError).extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: 5, http: { status: 503, headers: { 'retry-after': '5' } } });
      await expect(closed.peek(caller)).rejects.toThrow(GraphQLError);

      // Redis back (empty): the shared bucket answers again, on its own reconnection.
      await own.start();
      await waitForReady(redis);
      expect(await closed.take(caller, 1)).toMatchObject({ allowed: true });
      expect(await open.peek(caller)).toMatchObject({ currentlyAvailable: 100 });
    } finally {
      redis.disconnect();
    }
  });

  it('regression: a frozen Redis (no answer) falls back within the command timeout instead of hanging', async () => {
    const redis = await connectRedis({ url: own.url, keyPrefix: 'r:' });
    const budget = budgetOn(redis, fakeClock());
    try {
      own.freeze(true);
      expect(await budget.take(user(), 10)).toMatchObject({ allowed: true, status: { currentlyAvailable: 90 } });
    } finally {
      own.freeze(false);
      redis.disconnect();
    }
  });
});

/** ioredis reconnects on its own; `ready` says it is back. */
async function waitForReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise((resolve) => redis.once('ready', resolve));
}
