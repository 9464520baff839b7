import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEFAULT_MONTHLY_QUOTAS, requestCounterKey } from '../lib/plans/quotas.js';
import { type AdHocGateway, type AdHocSubgraph, startAdHocGateway, startAdHocSubgraph } from './gateway-kit.js';

// COST_LIMITS=off exists to measure what the cost plugin costs (`npm run bench`) and for
// emergencies: the gateway then neither prices nor charges, and says nothing about cost.

const sdl = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
  type Query {
    greeting: String
  }
`;

const ask = async (gateway: AdHocGateway, userId?: string) => {
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(await gateway.bearer([], { userId })) },
    body: JSON.stringify({ query: '{ greeting }' }),
  });
  return { response, body: (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[]; extensions?: { cost?: unknown } } };
};

describe('COST_LIMITS', () => {
  let subgraph: AdHocSubgraph;
  const gateways: Partial<Record<'on' | 'off', AdHocGateway>> = {};

  beforeAll(async () => {
    subgraph = await startAdHocSubgraph('greetings', sdl, { Query: { greeting: () => 'hello' } });
    gateways.on = await startAdHocGateway([subgraph], { COST_LIMITS: 'on' });
    gateways.off = await startAdHocGateway([subgraph], { COST_LIMITS: 'off' });
  }, 120_000);
  afterAll(async () => {
    await gateways.on?.close();
    await gateways.off?.close();
    await subgraph?.close();
  });

  it('on (the default): a response carries extensions.cost and the cost headers', async () => {
    const { response, body } = await ask(gateways.on!);
    expect(body.data).toEqual({ greeting: 'hello' });
    expect(body.extensions?.cost).toBeDefined();
    expect(response.headers.get('x-cost-estimate')).not.toBeNull();
  });

  it('off: the operation runs, with no extensions.cost and no cost headers', async () => {
    const { response, body } = await ask(gateways.off!);
    expect(body.data).toEqual({ greeting: 'hello' });
    expect(body.extensions?.cost).toBeUndefined();
    expect(response.headers.get('x-cost-estimate')).toBeNull();
  });

  // On, the cost take counts the operation in its own script run and the quota plugin applies
  // the outcome; off, the quota plugin counts it: either way once, and a hard quota refuses.
  it.each(['on', 'off'] as const)('%s: the monthly request quota counts each operation once and refuses past a hard quota (429)', async (costLimits) => {
    const gateway = gateways[costLimits]!;
    const userId = randomUUID();
    const counter = requestCounterKey(userId, new Date());
    const quota = DEFAULT_MONTHLY_QUOTAS.free!.monthlyRequestQuota;
    await gateway.redis.set(counter, quota - 2);
    expect((await ask(gateway, userId)).body.data).toEqual({ greeting: 'hello' });
    expect(await gateway.redis.get(counter)).toBe(String(quota - 1));
    expect((await ask(gateway, userId)).body.data).toEqual({ greeting: 'hello' });
    const refused = await ask(gateway, userId);
    expect(refused.response.status).toBe(429);
    expect(refused.body.errors?.map((error) => error.extensions?.code)).toEqual(['QUOTA_EXCEEDED']);
    expect(await gateway.redis.get(counter)).toBe(String(quota));
  });
});
