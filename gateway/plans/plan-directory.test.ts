import { randomBytes, randomUUID } from 'node:crypto';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { anonymousPrincipal, type Principal } from '../../lib/auth/principal.js';
import { systemClock } from '../../lib/clock.js';
import { createLiveHub, publishLive } from '../../lib/live/pubsub.js';
import { createLogger } from '../../lib/logger.js';
import { PLAN_CATALOGUE_KEY, PLAN_CHANGES_CHANNEL, planTierKey, type PublishedPlan } from '../../lib/plans/catalogue.js';
import { connectRedis, type Redis } from '../../lib/redis.js';
import { testEnv } from '../../test/env.js';
import { DEFAULT_COST_PLANS } from '../cost/plans.js';
import { DEFAULT_RATE_LIMIT_PLANS } from '../rate-limit/plans.js';
import { createPlanDirectory } from './plan-directory.js';

// Mostly on the in-process stand-in (as `npm start` runs); test/plans.e2e.ts covers the real Redis path end to end.
const logger = createLogger({ name: 'test', level: 'silent' });
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** On the in-process stand-in, or with `url` on a real Redis (one the test can disconnect from). */
async function setUp(url?: string) {
  const redis = await connectRedis({ url, keyPrefix: `lotabots_test:${randomBytes(4).toString('hex')}:` });
  const hub = createLiveHub(redis, logger);
  const directory = createPlanDirectory({
    redis,
    hub,
    clock: systemClock,
    logger,
    defaults: { rateLimit: DEFAULT_RATE_LIMIT_PLANS, cost: DEFAULT_COST_PLANS },
    cacheTtlMs: 60_000,
  });
  const stop = await directory.start();
  cleanup.push(async () => {
    await stop();
    await hub.close();
    redis.disconnect();
  });
  return { redis, directory };
}

const userPrincipal = (plan = 'free'): Principal => ({ ...anonymousPrincipal(null), kind: 'user', userId: randomUUID(), subject: 'user:x', plan });
const tiny: PublishedPlan = {
  bucketSize: 10,
  restorePerSecond: 1,
  requestsPerWindow: 10,
  windowSeconds: 60,
  maxOperationCost: 10,
  monthlyRequestQuota: 5,
  requestQuotaHard: true,
  monthlyTokenQuota: 5,
  tokenQuotaHard: false,
};
const notify = (redis: Redis, notice: object) => publishLive(redis, PLAN_CHANGES_CHANNEL, JSON.stringify(notice));

describe('the plan directory', () => {
  it('without a catalogue in Redis, enforces the settings and the token tier', async () => {
    const { directory } = await setUp();
    expect(directory.rateLimitPlans()).toEqual(DEFAULT_RATE_LIMIT_PLANS);
    expect(directory.costPlans()).toEqual(DEFAULT_COST_PLANS);
    const principal = userPrincipal('pro');
    expect(await directory.withEffectiveTier(principal)).toBe(principal);
    // Nothing to look up for a caller without a user: no promise for the pipeline to wait on.
    const anonymous = anonymousPrincipal('127.0.0.1');
    expect(directory.withEffectiveTier(anonymous)).toBe(anonymous);
    expect(directory.quotasOf('free')).toMatchObject({ monthlyRequestQuota: 100_000, requestQuotaHard: true });
  });

  it('applies a tier and a catalogue as soon as their notices arrive, over the cached values', async () => {
    const { redis, directory } = await setUp();
    const principal = userPrincipal('free');
    expect((await directory.withEffectiveTier(principal)).plan).toBe('free');
    await redis.set(planTierKey(principal.userId!), 'pro');
    // Cached until the notice says otherwise.
    expect((await directory.withEffectiveTier(principal)).plan).toBe('free');
    await notify(redis, { kind: 'tier', userId: principal.userId });
    await vi.waitFor(async () => expect((await directory.withEffectiveTier(principal)).plan).toBe('pro'), { timeout: 30_000, interval: 10 });

    await redis.set(PLAN_CATALOGUE_KEY, JSON.stringify({ pro: tiny }));
    await notify(redis, { kind: 'catalogue' });
    await vi.waitFor(() => expect(directory.rateLimitPlans().pro).toEqual({ bucketSize: 10, restorePerSecond: 1, requestsPerWindow: 10, windowSeconds: 60 }), { timeout: 30_000, interval: 10 });
    expect(directory.costPlans().pro).toEqual({ maxOperationCost: 10 });
    // Tiers the catalogue does not list keep the settings.
    expect(directory.rateLimitPlans().free).toEqual(DEFAULT_RATE_LIMIT_PLANS.free);
    expect(directory.quotasOf('pro')).toMatchObject({ monthlyRequestQuota: 5, requestQuotaHard: true });
  });

  it('Redis unreachable: the cached tier, else the tier the token carries', async () => {
    const { redis, directory } = await setUp(testEnv.redisUrl);
    const cached = userPrincipal('free');
    await redis.set(planTierKey(cached.userId!), 'enterprise');
    expect((await directory.withEffectiveTier(cached)).plan).toBe('enterprise');
    await redis.set(planTierKey(cached.userId!), 'pro');
    await notify(redis, { kind: 'tier', userId: cached.userId });
    await vi.waitFor(async () => expect((await directory.withEffectiveTier(cached)).plan).toBe('pro'), { timeout: 30_000, interval: 10 });
    await redis.del(planTierKey(cached.userId!));
    redis.disconnect();
    const uncached = userPrincipal('free');
    expect((await directory.withEffectiveTier(uncached)).plan).toBe('free');
    expect((await directory.withEffectiveTier(cached)).plan).toBe('pro');
  });
});
