import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { USAGE_EVENTS_STREAM } from '../lib/live/keys.js';
import { checkTokenQuota, tokenCounterKey } from '../lib/plans/quotas.js';
import { type GraphQLResponse, startTestPlatform, type TestPlatform } from './kit.js';
import { LOOSE_BRUTE_FORCE_LIMITS, REGISTER } from './users-operations.js';

/**
 * Plans (issue 18, item 2) through the gateway against real PostgreSQL and Redis: the
 * seeded catalogue, updatePlan, changePlan taking effect for the same access token without
 * a restart, users.planTier following, and monthly quotas (hard refuses, soft allows).
 */

const UPDATE_PLAN = `mutation Update($id: ID!, $input: UpdatePlanInput!) {
  updatePlan(id: $id, input: $input) { id rateLimit { bucketSize restorePerSecond } maxOperationCost monthlyRequestQuota requestQuotaKind }
}`;
const CHANGE_PLAN = `mutation Change($planId: ID!, $userId: ID) { changePlan(planId: $planId, userId: $userId) { user { id } plan { id } previousPlan { id } } }`;
/** Costs 20 (10 plans, each an object with an object inside) plus the free rateLimit. */
const COSTLY = `{ plans { id rateLimit { bucketSize } } rateLimit { limit remaining } }`;
const RATE_LIMIT = `{ rateLimit { limit } }`;
/** Patience for a change to reach the gateway on a loaded machine; it normally takes milliseconds. */
const SIGNAL = { timeout: 30_000, interval: 25 };

const codesOf = (response: GraphQLResponse) => (response.body.errors ?? []).map((error) => error.extensions?.code);

describe('plans', () => {
  let platform: TestPlatform;
  let asAdmin: Record<string, string>;
  /** Registered before any test shrinks the free budget, which anonymous callers (register) draw on too. */
  let users: Record<'mallory' | 'bob' | 'eve' | 'ada' | 'carol', { id: string; headers: Record<string, string> }>;

  const register = async (name: string) => {
    const response = await platform.query<{ register: { user: { id: string }; accessToken: string } }>(REGISTER, {
      input: { email: `${name}-${randomUUID()}@example.com`, password: 'correct horse battery', displayName: name },
    });
    const { user, accessToken } = response.body.data!.register;
    return { id: user.id, headers: { authorization: `Bearer ${accessToken}` } };
  };
  const limitOf = async (headers: Record<string, string>) => (await platform.query<{ rateLimit: { limit: number } }>(RATE_LIMIT, undefined, headers)).body.data?.rateLimit.limit;

  beforeAll(async () => {
    platform = await startTestPlatform({ users: LOOSE_BRUTE_FORCE_LIMITS });
    asAdmin = { authorization: `Bearer ${await platform.tokenFor(randomUUID(), { roles: ['admin'] })}` };
    // The admin's own plan is one no test shrinks (free's budget, enterprise's quota).
    expect((await platform.query(CHANGE_PLAN, { planId: 'pro' }, asAdmin)).body.errors).toBeUndefined();
    users = { mallory: await register('mallory'), bob: await register('bob'), eve: await register('eve'), ada: await register('ada'), carol: await register('carol') };
  }, 120_000);
  afterAll(async () => {
    await platform?.stop();
  }, 120_000);

  it('plans lists free, pro and enterprise with limits, quotas and prices in cents', async () => {
    const response = await platform.query(`{ plans { id rateLimit { bucketSize restorePerSecond requestsPerWindow windowSeconds } maxOperationCost
      monthlyRequestQuota requestQuotaKind monthlyTokenQuota tokenQuotaKind priceCentsPerMonth overageCentsPerThousandRequests overageCentsPerThousandTokens } }`);
    expect(response.body.errors).toBeUndefined();
    const plans = response.body.data!.plans as Array<Record<string, unknown>>;
    expect(plans.map((plan) => plan.id)).toEqual(['free', 'pro', 'enterprise']);
    expect(plans[0]).toEqual({
      id: 'free',
      rateLimit: { bucketSize: 1_000, restorePerSecond: 50, requestsPerWindow: 600, windowSeconds: 60 },
      maxOperationCost: 1_000,
      monthlyRequestQuota: 100_000,
      requestQuotaKind: 'HARD',
      monthlyTokenQuota: 100_000,
      tokenQuotaKind: 'HARD',
      priceCentsPerMonth: 0,
      overageCentsPerThousandRequests: 0,
      overageCentsPerThousandTokens: 0,
    });
    expect(plans[1]).toMatchObject({ id: 'pro', rateLimit: { bucketSize: 5_000 }, requestQuotaKind: 'SOFT', priceCentsPerMonth: 4_900, overageCentsPerThousandTokens: 2 });
  }, 120_000);

  it('updatePlan is refused without usage:admin and validates every field', async () => {
    const user = users.mallory;
    const refused = await platform.query(UPDATE_PLAN, { id: 'free', input: { bucketSize: 1 } }, user.headers);
    expect(refused.body.data?.updatePlan ?? null).toBeNull();
    expect(codesOf(refused)).toEqual(['FORBIDDEN']);
    for (const input of [{ bucketSize: 0 }, { restorePerSecond: -1 }, { priceCentsPerMonth: -5 }, { displayName: '  ' }, { windowSeconds: 86_401 }, { bucketSize: null }, { maxOperationCost: 5_000 }]) {
      const response = await platform.query(UPDATE_PLAN, { id: 'free', input }, asAdmin);
      expect(codesOf(response), JSON.stringify(input)).toEqual(['BAD_USER_INPUT']);
    }
    expect(codesOf(await platform.query(UPDATE_PLAN, { id: 'platinum', input: { bucketSize: 10 } }, asAdmin))).toEqual(['NOT_FOUND']);
    const plans = await platform.query<{ plans: Array<{ id: string; rateLimit: { bucketSize: number } }> }>(`{ plans { id rateLimit { bucketSize } } }`);
    expect(plans.body.data!.plans.find((plan) => plan.id === 'free')!.rateLimit.bucketSize).toBe(1_000);
  }, 120_000);

  it('changePlan is the caller\'s own, or anyone\'s with usage:admin; unknown plans are refused', async () => {
    const { bob, eve } = users;
    expect(codesOf(await platform.query(CHANGE_PLAN, { planId: 'pro', userId: bob.id }, eve.headers))).toEqual(['NOT_FOUND']);
    expect(codesOf(await platform.query(CHANGE_PLAN, { planId: 'platinum' }, bob.headers))).toEqual(['BAD_USER_INPUT']);
    const own = await platform.query(CHANGE_PLAN, { planId: 'pro' }, bob.headers);
    expect(own.body).toMatchObject({ data: { changePlan: { user: { id: bob.id }, plan: { id: 'pro' }, previousPlan: { id: 'free' } } } });
    const me = await platform.query(`{ me { plan { id } } }`, undefined, bob.headers);
    expect(me.body.data).toEqual({ me: { plan: { id: 'pro' } } });
    const byAdmin = await platform.query(CHANGE_PLAN, { planId: 'enterprise', userId: bob.id }, asAdmin);
    expect(byAdmin.body.data).toMatchObject({ changePlan: { plan: { id: 'enterprise' }, previousPlan: { id: 'pro' } } });
  }, 120_000);

  it('changePlan applies to the gateway budget at once, for the same access token, and reaches users.planTier', async () => {
    const { ada } = users;
    // A small free budget that barely refills, so one priced operation empties it.
    const edited = await platform.query(UPDATE_PLAN, { id: 'free', input: { bucketSize: 30, restorePerSecond: 0.001, maxOperationCost: 30 } }, asAdmin);
    expect(edited.body.errors).toBeUndefined();
    await vi.waitFor(async () => expect(await limitOf(ada.headers)).toBe(30), SIGNAL);
    let refused: GraphQLResponse | undefined;
    for (let attempt = 0; attempt < 5 && !refused; attempt += 1) {
      const response = await platform.query(COSTLY, undefined, ada.headers);
      if (codesOf(response).includes('RATE_LIMITED')) refused = response;
    }
    expect(refused?.status).toBe(429);

    const changed = await platform.query(CHANGE_PLAN, { planId: 'pro', userId: ada.id }, asAdmin);
    expect(changed.body.data).toMatchObject({ changePlan: { plan: { id: 'pro' }, previousPlan: { id: 'free' } } });
    const changedAt = Date.now();
    const allowed = await vi.waitFor(async () => {
      const response = await platform.query<{ rateLimit: { limit: number } }>(COSTLY, undefined, ada.headers);
      expect(response.body.errors).toBeUndefined();
      return response;
    }, SIGNAL);
    platform.logger.info({ ms: Date.now() - changedAt }, 'changePlan reached the gateway');
    expect(allowed.status).toBe(200);
    expect(allowed.body.data!.rateLimit.limit).toBe(5_000);

    // The users subgraph copies the change from the stream: tokens issued from now on carry it.
    await vi.waitFor(async () => {
      const me = await platform.query<{ me: { planTier: string } }>(`{ me { planTier } }`, undefined, ada.headers);
      expect(me.body.data?.me.planTier).toBe('pro');
    }, SIGNAL);
  }, 120_000);

  it('a hard monthly request quota refuses with QUOTA_EXCEEDED once used up; a soft one allows', async () => {
    const { carol } = users;
    const edited = await platform.query(UPDATE_PLAN, { id: 'enterprise', input: { bucketSize: 4_000, maxOperationCost: 4_000, monthlyRequestQuota: 3, requestQuotaKind: 'HARD' } }, asAdmin);
    expect(edited.body.data).toMatchObject({ updatePlan: { monthlyRequestQuota: 3, requestQuotaKind: 'HARD' } });
    expect((await platform.query(CHANGE_PLAN, { planId: 'enterprise', userId: carol.id }, asAdmin)).body.errors).toBeUndefined();
    // rateLimit alone is answered by the gateway without executing anything: it counts nothing.
    await vi.waitFor(async () => expect(await limitOf(carol.headers)).toBe(4_000), SIGNAL);
    for (let request = 1; request <= 3; request += 1) {
      const response = await platform.query(COSTLY, undefined, carol.headers);
      expect(response.body.errors, `request ${request}`).toBeUndefined();
    }
    const refused = await platform.query(COSTLY, undefined, carol.headers);
    expect(refused.status).toBe(429);
    expect(refused.body.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'QUOTA_EXCEEDED', quota: 'requests', limit: 3, used: 3, resetAt: expect.any(String) }) }),
    ]);

    const soft = await platform.query(UPDATE_PLAN, { id: 'enterprise', input: { bucketSize: 4_001, maxOperationCost: 4_000, requestQuotaKind: 'SOFT' } }, asAdmin);
    expect(soft.body.errors).toBeUndefined();
    await vi.waitFor(async () => expect(await limitOf(carol.headers)).toBe(4_001), SIGNAL);
    const overage = await platform.query(COSTLY, undefined, carol.headers);
    expect(overage.body.errors).toBeUndefined();
  }, 120_000);

  it('counts tokens from usage events once each, and checkTokenQuota refuses past a hard token quota', async () => {
    const userId = randomUUID();
    const now = new Date();
    const caller = { userId, plan: 'free' };
    await expect(checkTokenQuota(platform.redis, caller, now)).resolves.toBeUndefined();
    const event = (eventId: string, tokensIn: number, tokensOut: number) =>
      platform.redis.xadd(USAGE_EVENTS_STREAM, '*', 'eventId', eventId, 'userId', userId, 'at', now.toISOString(), 'requests', '0', 'tokensIn', String(tokensIn), 'tokensOut', String(tokensOut));
    await event('job-1', 60_000, 30_000);
    await event('job-1', 60_000, 30_000); // redelivered: counted once
    await event('job-2', 5_000, 5_000);
    await vi.waitFor(async () => expect(await platform.redis.get(tokenCounterKey(userId, now))).toBe('100000'), SIGNAL);
    await expect(checkTokenQuota(platform.redis, caller, now)).rejects.toMatchObject({ extensions: { code: 'QUOTA_EXCEEDED', quota: 'tokens', limit: 100_000, used: 100_000 } });
    // Pro's token quota is soft: the same usage is allowed (and billed as overage).
    await expect(checkTokenQuota(platform.redis, { userId, plan: 'pro' }, now)).resolves.toBeUndefined();
  });
});
