import { randomUUID } from 'node:crypto';

import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { startTestPlatform, type TestPlatform } from './kit.js';
import { waitUntil } from './own-redis.js';
import { within } from './within.js';

// Predictive scaling advice from real traffic: jobs submitted through the gateway wait in the
// real Redis queue (no worker runs), the usage subgraph's sampler reads them, and the advice
// shows on its /metrics (what prometheus-adapter serves to the autoscalers) and on
// platformMetrics through the gateway; once the jobs are taken, it falls back.

type Result = { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

const SUBMIT = 'mutation Submit($input: SubmitInferenceInput!) { submitInference(input: $input) { id status } }';
const DASHBOARD = 'subscription Dashboard { platformMetrics(intervalSeconds: 1) { queueDepth scaling { at desiredWorkers desiredGatewayReplicas horizonSeconds forecastJobsPerSecond forecastRequestsPerSecond } } }';
const JOBS = 12;
/** The backlog alone decides: 12 jobs to drain in 10 s at 20 s each = 24 busy slots, 4 per worker = 6 workers. */
const BACKLOG_WORKERS = 6;

describe('predictive scaling advice', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform({
      startWorker: false,
      usage: {
        SCALING_SAMPLE_INTERVAL_MS: 100,
        SCALING_BACKLOG_DRAIN_SECONDS: 10,
        SCALING_JOB_SERVICE_SECONDS: 20,
        SCALING_WORKER_CONCURRENCY: 4,
        SCALING_MAX_WORKERS: 8,
        // No hold on the way down, so the test sees the advice fall once the queue empties.
        SCALING_SCALE_DOWN_DELAY_SECONDS: 0,
      },
    });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  /** The usage subgraph's figure for a `lotabots_scaling_*` gauge, as Prometheus scrapes it. */
  const scraped = async (name: string): Promise<number> => {
    const text = await (await fetch(platform.metricsUrls.usage)).text();
    const line = text.split('\n').find((entry) => entry.startsWith(`lotabots_scaling_${name}{`));
    return line ? Number(line.split(' ').at(-1)) : Number.NaN;
  };

  it('rises as real jobs queue, shows on /metrics and platformMetrics, and falls back once they are taken', async () => {
    await waitUntil(async () => (await scraped('desired_workers')) === 1, 'the idle advice (the minimum, 1 worker)', 60_000);
    expect(await scraped('horizon_seconds')).toBe(180);

    // Four users, three jobs each: within the per-user limit of jobs queued or running at once.
    const users = await Promise.all(Array.from({ length: 4 }, async () => `Bearer ${await platform.tokenFor(randomUUID())}`));
    for (let i = 0; i < JOBS; i++) {
      const authorization = users[i % users.length]!;
      const { body } = await platform.query(SUBMIT, { input: { model: 'lotabots-tiny-cpu', prompt: `Job ${i} ${randomUUID()}`, maxTokens: 8 } }, { authorization });
      expect(body.errors).toBeUndefined();
    }
    await waitUntil(async () => (await scraped('desired_workers')) >= BACKLOG_WORKERS, `at least ${BACKLOG_WORKERS} desired workers on /metrics`, 60_000);
    expect(await scraped('desired_workers')).toBeLessThanOrEqual(8);

    const client = createWsClient({
      url: platform.gatewayUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${await platform.tokenFor(randomUUID(), { roles: ['admin'] })}` },
      retryAttempts: 0,
    });
    try {
      const stream = client.iterate({ query: DASHBOARD }) as AsyncIterableIterator<Result>;
      const { value } = await within(stream.next(), 30_000, 'the first platformMetrics event');
      expect(value?.errors).toBeUndefined();
      const figures = value!.data.platformMetrics;
      expect(figures.queueDepth).toBe(JOBS);
      expect(figures.scaling).toMatchObject({ at: expect.stringMatching(/^\d{4}-/), horizonSeconds: 180, forecastRequestsPerSecond: expect.any(Number) });
      // The gateway's own traffic (these submissions) moves its advice too, within the default bounds.
      expect(figures.scaling.desiredGatewayReplicas).toBeGreaterThanOrEqual(2);
      expect(figures.scaling.desiredGatewayReplicas).toBeLessThanOrEqual(10);
      expect(figures.scaling.desiredWorkers).toBeGreaterThanOrEqual(BACKLOG_WORKERS);
      await stream.return!();
    } finally {
      await client.dispose();
    }

    // A worker's part: take every job off the queue (and finish it).
    for (let i = 0; i < JOBS; i++) {
      const delivery = await platform.inferenceBus.queue.take('scaling-test', { blockMs: 0 });
      expect(delivery).not.toBeNull();
      await platform.inferenceBus.queue.ack('scaling-test', delivery!);
    }
    await waitUntil(async () => (await scraped('desired_workers')) === 1, 'the advice to fall back to 1 worker', 60_000);
  }, 180_000);
});
