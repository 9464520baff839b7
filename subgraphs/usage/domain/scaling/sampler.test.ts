import { randomBytes } from 'node:crypto';

import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';

import { createInferenceBus } from '../../../../lib/inference/index.js';
import { writeGatewayMetrics } from '../../../../lib/live/gateway-metrics.js';
import { createLogger } from '../../../../lib/logger.js';
import { connectRedis, type Redis } from '../../../../lib/redis.js';
import { jobRequest } from '../../../../test/inference-kit.js';
import { waitUntil } from '../../../../test/own-redis.js';
import { loadUsageConfig, usageEnvSchema } from '../../config.js';
import { createScalingSampler, type ScalingSampler } from './sampler.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const opened: Array<{ redis: Redis; sampler: ScalingSampler }> = [];
afterEach(async () => {
  for (const { redis, sampler } of opened.splice(0)) {
    await sampler.stop();
    redis.disconnect();
  }
});

/** A sampler on the in-process Redis stand-in and bus (as `npm start` runs), sampling every 20 ms, its clock 5 s further at each reading. */
async function startSampler() {
  const redis = await connectRedis({ keyPrefix: `scaling-${randomBytes(4).toString('hex')}:` });
  const bus = createInferenceBus(redis, { inProcess: true, streamTtlSeconds: 3_600 });
  let nowMs = Date.parse('2026-01-01T00:00:00Z');
  const readings: number[] = [];
  const clock = {
    now: () => {
      nowMs += 5_000;
      readings.push(nowMs);
      return new Date(nowMs);
    },
  };
  const settings = { ...usageEnvSchema.parse({}), SCALING_SAMPLE_INTERVAL_MS: 20 };
  const sampler = createScalingSampler({ redis, clock, logger, queueDepth: () => bus.queue.depth(), settings });
  const registry = new Registry();
  sampler.register(registry);
  opened.push({ redis, sampler });
  sampler.start();
  const gauge = async (name: string) => (await registry.getSingleMetric(`lotabots_scaling_${name}`)!.get()).values[0]?.value ?? 0;
  return { redis, bus, sampler, gauge, readings };
}

describe('scaling sampler', () => {
  it('moves the advice and its gauges as jobs queue and gateways report traffic, and stops sampling on stop', async () => {
    const { redis, bus, sampler, gauge, readings } = await startSampler();
    await waitUntil(async () => sampler.latest() !== null, 'the first sample', 10_000);
    expect(sampler.latest()).toMatchObject({ desiredWorkers: 1, desiredGatewayReplicas: 2, horizonSeconds: 180 });
    expect(await gauge('desired_workers')).toBe(1);

    for (let i = 0; i < 30; i++) await bus.queue.enqueue(jobRequest());
    await writeGatewayMetrics(redis, 'gw-1', { at: new Date(), requestsPerSecond: 450, errorRate: 0, p95LatencyMs: 10, openSubscriptions: 0 });
    await waitUntil(async () => (await gauge('desired_workers')) > 1 && (await gauge('desired_gateway_replicas')) > 2, 'the advice to follow the load', 10_000);
    const advice = sampler.latest()!;
    expect(await gauge('desired_workers')).toBe(advice.desiredWorkers);
    expect(await gauge('desired_gateway_replicas')).toBe(advice.desiredGatewayReplicas);
    expect(await gauge('forecast_job_arrivals_per_second')).toBeGreaterThan(0);
    expect(await gauge('horizon_seconds')).toBe(180);

    await sampler.stop();
    const taken = readings.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(readings.length).toBe(taken);
    await bus.close();
  });

  it('refuses bounds whose minimum exceeds their maximum at start-up', () => {
    expect(() => loadUsageConfig({ SCALING_MIN_WORKERS: '9', SCALING_MAX_WORKERS: '8' })).toThrow(/SCALING_MIN_WORKERS: must not exceed SCALING_MAX_WORKERS/);
    expect(() => loadUsageConfig({ SCALING_MIN_GATEWAY_REPLICAS: '3', SCALING_MAX_GATEWAY_REPLICAS: '2' })).toThrow(/SCALING_MIN_GATEWAY_REPLICAS/);
    expect(() => loadUsageConfig({ SCALING_LEVEL_SMOOTHING: '0' })).toThrow(/SCALING_LEVEL_SMOOTHING/);
  });
});
