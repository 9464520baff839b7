import { randomBytes } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import { createInferenceBus } from '../../../lib/inference/index.js';
import { readGatewayMetrics, writeGatewayMetrics } from '../../../lib/live/gateway-metrics.js';
import { GATEWAY_METRICS_SET, TOKENS_OUT_COUNTER } from '../../../lib/live/keys.js';
import { createLogger } from '../../../lib/logger.js';
import { connectRedis, type Redis } from '../../../lib/redis.js';
import { jobRequest } from '../../../test/inference-kit.js';
import { combineGateways, createPlatformMetricsFeed, createPlatformSampler } from './platform-metrics.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const clients: Redis[] = [];
const redisForTest = async () => {
  const redis = await connectRedis({ keyPrefix: `t${randomBytes(4).toString('hex')}:` });
  clients.push(redis);
  return redis;
};
afterEach(() => {
  for (const redis of clients.splice(0)) redis.disconnect();
});

const snapshot = (figures: { requestsPerSecond: number; errorRate: number; p95LatencyMs: number; openSubscriptions: number }) => ({
  at: new Date('2026-11-23T10:00:00Z'),
  ...figures,
});

describe('platform metrics', () => {
  it('combines gateways: rates and subscriptions add up, errors weighted by traffic, p95 the worst', () => {
    expect(
      combineGateways([
        snapshot({ requestsPerSecond: 30, errorRate: 0.1, p95LatencyMs: 40, openSubscriptions: 2 }),
        snapshot({ requestsPerSecond: 10, errorRate: 0.5, p95LatencyMs: 90, openSubscriptions: 3 }),
      ]),
    ).toEqual({ requestsPerSecond: 40, errorRate: (3 + 5) / 40, p95LatencyMs: 90, openSubscriptions: 5 });
    expect(combineGateways([])).toEqual({ requestsPerSecond: 0, errorRate: 0, p95LatencyMs: 0, openSubscriptions: 0 });
  });

  it('reads the live gateways from Redis and drops members whose figures expired', async () => {
    const redis = await redisForTest();
    await writeGatewayMetrics(redis, 'gw-a', snapshot({ requestsPerSecond: 5, errorRate: 0, p95LatencyMs: 12.5, openSubscriptions: 1 }));
    await redis.sadd(GATEWAY_METRICS_SET, 'gw-dead');
    const live = await readGatewayMetrics(redis);
    expect([...live.keys()]).toEqual(['gw-a']);
    expect(live.get('gw-a')).toMatchObject({ requestsPerSecond: 5, p95LatencyMs: 12.5, openSubscriptions: 1 });
    expect(await redis.smembers(GATEWAY_METRICS_SET)).toEqual(['gw-a']);
  });

  it('samples queue depth and tokens per second from the counter growth between readings', async () => {
    const redis = await redisForTest();
    let now = new Date('2026-11-23T10:00:00Z');
    // The in-memory bus over the in-process Redis stand-in, as `npm start` runs it.
    const bus = createInferenceBus(redis, { inProcess: true, streamTtlSeconds: 3_600 });
    const advice = { at: now, desiredWorkers: 3, desiredGatewayReplicas: 2, horizonSeconds: 180, forecastJobsPerSecond: 0.5, forecastRequestsPerSecond: 10 };
    const sample = createPlatformSampler({ redis, clock: { now: () => now }, queueDepth: () => bus.queue.depth(), scaling: () => advice });
    expect(await sample()).toEqual({
      at: now,
      requestsPerSecond: 0,
      errorRate: 0,
      p95LatencyMs: 0,
      openSubscriptions: 0,
      queueDepth: 0,
      tokensPerSecond: 0,
      scaling: advice,
    });
    for (let i = 0; i < 2; i++) await bus.queue.enqueue(jobRequest());
    await redis.incrby(TOKENS_OUT_COUNTER, 500);
    now = new Date(now.getTime() + 2_000);
    expect(await sample()).toMatchObject({ at: now, queueDepth: 2, tokensPerSecond: 250 });
    // A reset counter gives no rate for that reading.
    await redis.set(TOKENS_OUT_COUNTER, 10);
    now = new Date(now.getTime() + 1_000);
    expect(await sample()).toMatchObject({ tokensPerSecond: 0 });
    await bus.close();
  });

  it('emits at once, then every interval, and stops its timer when the subscription ends', async () => {
    const redis = await redisForTest();
    const feed = createPlatformMetricsFeed({ redis, clock: { now: () => new Date() }, logger, queueDepth: async () => 0, scaling: () => null });
    const figures = feed.subscribe(1);
    const startedAt = Date.now();
    await figures.next();
    expect(Date.now() - startedAt).toBeLessThan(500);
    await figures.next();
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
    expect(feed.openCount).toBe(1);
    await figures.return!();
    expect(feed.openCount).toBe(0);
  });

  it('ends every open feed on close', async () => {
    const redis = await redisForTest();
    const feed = createPlatformMetricsFeed({ redis, clock: { now: () => new Date() }, logger, queueDepth: async () => 0, scaling: () => null });
    const figures = feed.subscribe(60);
    await figures.next();
    const pending = figures.next();
    feed.close();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(feed.openCount).toBe(0);
  });
});
