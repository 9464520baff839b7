import { randomBytes, randomUUID } from 'node:crypto';

import { createSchema, createYoga, isAsyncIterable, type Plugin } from 'graphql-yoga';
import { Redis as IORedis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';

import { anonymousPrincipal, type Principal } from '../../lib/auth/principal.js';
import { USAGE_EVENTS_STREAM } from '../../lib/live/keys.js';
import { parseUsageEventFields } from '../../lib/live/usage-events.js';
import { createLogger } from '../../lib/logger.js';
import { connectRedis, type Redis } from '../../lib/redis.js';
import { useUsageEvents } from './use-usage-events.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const at = new Date('2026-11-23T10:00:00.000Z');
const userId = randomUUID();
const user: Principal = { ...anonymousPrincipal(null), kind: 'user', userId, subject: `user:${userId}`, roles: ['user'] };
const partner: Principal = { ...user, kind: 'apiKey', apiKeyId: randomUUID(), subject: `apiKey:${userId}` };

/** Stands in for useCostLimits: leaves extensions.cost on each executed result, as it does. */
const fixedCost: Plugin = {
  onExecute: () => ({
    onExecuteDone: ({ result, setResult }) => {
      if (!isAsyncIterable(result)) setResult({ ...result, extensions: { ...result.extensions, cost: { requestedQueryCost: 7, actualQueryCost: 5 } } });
    },
  }),
};

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query { hello: String failing: String }
    type Subscription { ticks: Int }
  `,
  resolvers: {
    Query: { hello: () => 'hi', failing: () => { throw new Error('no'); } },
    Subscription: {
      ticks: {
        subscribe: async function* () {
          yield { ticks: 1 };
        },
      },
    },
  },
});

/** Stands in for useAuth: the principal of each request comes from a test header. */
const principalFrom = (principals: Record<string, Principal>): Plugin => ({
  onContextBuilding({ context, extendContext }) {
    const name = (context as unknown as { request: Request }).request.headers.get('x-test-principal') ?? 'anonymous';
    extendContext({ principal: principals[name] ?? anonymousPrincipal(null) } as never);
  },
});

const clients: Redis[] = [];
afterEach(() => {
  for (const redis of clients.splice(0)) redis.disconnect();
});

function gatewayWith(redis: Redis, registry = new Registry()) {
  return createYoga({
    schema,
    logging: false,
    plugins: [principalFrom({ user, partner }), fixedCost, useUsageEvents({ redis, clock: { now: () => at }, logger, registry })],
  });
}

const post = (yoga: ReturnType<typeof gatewayWith>, query: string, principal?: string) =>
  yoga.fetch('http://gateway/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(principal ? { 'x-test-principal': principal } : {}) },
    body: JSON.stringify({ query }),
  });

const waitFor = async (condition: () => Promise<boolean> | boolean) => {
  for (let i = 0; i < 100 && !(await condition()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
};

describe('useUsageEvents', () => {
  it('appends each operation of a user to the usage stream with its API key, status, latency and cost', async () => {
    const redis = await connectRedis({ keyPrefix: `t${randomBytes(4).toString('hex')}:` });
    clients.push(redis);
    const yoga = gatewayWith(redis);

    expect(await (await post(yoga, 'query Greeting { hello }', 'user')).json()).toMatchObject({ data: { hello: 'hi' } });
    expect(await (await post(yoga, '{ hello }', 'partner')).json()).toMatchObject({ data: { hello: 'hi' } });
    expect((await (await post(yoga, '{ hello broken }', 'user')).json()).errors).toBeDefined(); // invalid: never executed, not metered
    expect(await (await post(yoga, 'query Failing { failing }', 'user')).json()).toMatchObject({ data: { failing: null }, errors: [{ path: ['failing'] }] });
    const subscription = await yoga.fetch('http://gateway/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-test-principal': 'user' },
      body: JSON.stringify({ query: 'subscription Ticks { ticks }' }),
    });
    await subscription.text();
    await waitFor(async () => (await redis.xlen(USAGE_EVENTS_STREAM)) === 4);

    const entries = (await redis.xrange(USAGE_EVENTS_STREAM, '-', '+')).map(([, values]) => Object.fromEntries(chunk(values)));
    const common = { eventId: expect.stringMatching(/^[0-9a-f-]{36}$/), userId, at: at.toISOString(), latencyMs: expect.stringMatching(/^\d+$/), requests: '1', tokensIn: '0', tokensOut: '0' };
    expect(entries).toEqual([
      // The cost plugin's figures, as it leaves them in extensions.cost.
      { ...common, operationName: 'Greeting', status: 'ok', estimatedCost: '7', actualCost: '5' },
      { ...common, apiKeyId: partner.apiKeyId, status: 'ok', estimatedCost: '7', actualCost: '5' },
      { ...common, operationName: 'Failing', status: 'error', estimatedCost: '7', actualCost: '5' },
      { ...common, operationName: 'Ticks', status: 'ok' },
    ]);
    expect(new Set(entries.map((entry) => entry.eventId)).size).toBe(4);
    for (const entry of entries) expect(parseUsageEventFields(chunk(Object.entries(entry).flat()).flat())).not.toBeNull();
  });

  it('meters nothing for callers without a user', async () => {
    const redis = await connectRedis({ keyPrefix: `t${randomBytes(4).toString('hex')}:` });
    clients.push(redis);
    const yoga = gatewayWith(redis);
    await post(yoga, '{ hello }');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await redis.xlen(USAGE_EVENTS_STREAM)).toBe(0);
  });

  it('answers normally when Redis is unreachable, and counts the lost events', async () => {
    // A real client to a closed port, failing fast as production clients do.
    const down = new IORedis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, keyPrefix: 't:' }) as Redis;
    down.on('error', () => {});
    clients.push(down);
    const registry = new Registry();
    const yoga = gatewayWith(down, registry);
    const response = await post(yoga, '{ hello }', 'user');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ data: { hello: 'hi' } });
    await waitFor(async () => (await registry.getSingleMetricAsString('lotabots_usage_events_total')).includes('outcome="failed"} 1'));
    expect(await registry.getSingleMetricAsString('lotabots_usage_events_total')).toContain('outcome="failed"} 1');
  });
});

function chunk(values: string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < values.length; i += 2) pairs.push([values[i]!, values[i + 1]!]);
  return pairs;
}
