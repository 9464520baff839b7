import { randomBytes } from 'node:crypto';

import { createSchema, createYoga } from 'graphql-yoga';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';

import { readGatewayMetrics } from '../../lib/live/gateway-metrics.js';
import { GATEWAY_METRICS_SET, gatewayMetricsKey } from '../../lib/live/keys.js';
import { createLogger } from '../../lib/logger.js';
import { connectRedis, type Redis } from '../../lib/redis.js';
import { useLiveStats } from './use-live-stats.js';

const logger = createLogger({ name: 'test', level: 'silent' });

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query { hello: String, broken: String }
    type Subscription { forever: Int }
  `,
  resolvers: {
    Query: {
      hello: () => 'hi',
      broken: () => {
        throw new Error('boom');
      },
    },
    Subscription: {
      forever: {
        async *subscribe() {
          for (let i = 0; ; i++) {
            yield { forever: i };
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        },
      },
    },
  },
});

const clients: Redis[] = [];
afterEach(() => {
  for (const redis of clients.splice(0)) redis.disconnect();
});

async function setUp(openSubscriptions: () => number = () => 0) {
  const redis = await connectRedis({ keyPrefix: `t${randomBytes(4).toString('hex')}:` });
  clients.push(redis);
  const registry = new Registry();
  const stats = useLiveStats({ redis, clock: { now: () => new Date() }, logger, registry, instanceId: 'gw-test', publishIntervalMs: 50, openSubscriptions });
  const yoga = createYoga({ schema, logging: false, plugins: [stats] });
  const post = (query: string) =>
    yoga.fetch('http://gateway/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return { redis, registry, stats, yoga, post };
}

describe('useLiveStats', () => {
  it('counts operations, failed ones (errors, invalid documents) and their latency', async () => {
    const { stats, yoga, post } = await setUp();
    for (let i = 0; i < 6; i++) await post('{ hello }');
    await post('{ broken }');
    await post('{ nope }');
    await post('{ hello');
    const figures = stats.snapshot();
    expect(figures.requestsPerSecond).toBeGreaterThanOrEqual(9); // 9 operations in at most one second
    expect(figures.errorRate).toBeCloseTo(3 / 9, 5);
    expect(figures.p95LatencyMs).toBeGreaterThan(0);
    expect(figures.openSubscriptions).toBe(0);
    await yoga.dispose();
  });

  it('counts a subscription start as an operation and exports the executor’s open count to Prometheus', async () => {
    let open = 0;
    const { stats, registry, yoga } = await setUp(() => open);
    const abort = new AbortController();
    const response = await yoga.fetch('http://gateway/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { forever }' }),
      signal: abort.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    expect(stats.snapshot().requestsPerSecond).toBeGreaterThan(0);
    expect(stats.snapshot().errorRate).toBe(0);
    open = 7;
    expect(stats.snapshot().openSubscriptions).toBe(7);
    expect(await registry.getSingleMetricAsString('lotabots_gateway_open_subscriptions')).toMatch(/ 7$/m);
    open = 0;
    expect(await registry.getSingleMetricAsString('lotabots_gateway_open_subscriptions')).toMatch(/ 0$/m);
    abort.abort();
    await reader.cancel().catch(() => {});
    await yoga.dispose();
  });

  it('writes its figures to Redis while running and removes them when Yoga is disposed', async () => {
    const { redis, yoga, post } = await setUp();
    await post('{ hello }');
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await redis.smembers(GATEWAY_METRICS_SET)).toEqual(['gw-test']);
    expect(await redis.ttl(gatewayMetricsKey('gw-test'))).toBeGreaterThan(0);
    const live = await readGatewayMetrics(redis);
    expect(live.get('gw-test')?.requestsPerSecond).toBeGreaterThan(0);

    await yoga.dispose();
    expect(await redis.exists(gatewayMetricsKey('gw-test'))).toBe(0);
    expect(await redis.smembers(GATEWAY_METRICS_SET)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await redis.exists(gatewayMetricsKey('gw-test'))).toBe(0);
  });

  it('names its instance after the host and process unless told', async () => {
    const redis = await connectRedis({ keyPrefix: `t${randomBytes(4).toString('hex')}:` });
    clients.push(redis);
    const stats = useLiveStats({ redis, clock: { now: () => new Date() }, logger, registry: new Registry(), openSubscriptions: () => 0 });
    expect(stats.instanceId).toMatch(/-\d+-[0-9a-f]{6}$/);
  });
});
