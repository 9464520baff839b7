import { randomBytes } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import { systemClock } from '../lib/clock.js';
import { createInferenceBus, type InferenceBus, type JobEvent, type JobRequest } from '../lib/inference/index.js';
import { TOKENS_OUT_COUNTER } from '../lib/live/keys.js';
import { createLogger } from '../lib/logger.js';
import { connectRedis } from '../lib/redis.js';
import { eventsUntil, hasEnded, submitJob } from '../test/inference-kit.js';
import { waitUntil } from '../test/own-redis.js';
import { BUILTIN_MODEL } from './backends/builtin/builtin-backend.js';
import { workerEnvSchema } from './config.js';
import { createWorker, type Worker } from './worker.js';

/**
 * The worker as `npm start` runs it without Redis: the in-process stand-in for the registry and
 * the in-memory bus, the built-in model. (worker.e2e.ts covers the Redis bus and the openai backend.)
 */
const logger = createLogger({ name: 'test', level: 'silent' });
const cleanup: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function setUp(tokenDelayMs: number): Promise<{ bus: InferenceBus; worker: Worker; counter: () => Promise<string | null> }> {
  const redis = await connectRedis({ keyPrefix: `t${randomBytes(4).toString('hex')}:` });
  const bus = createInferenceBus(redis, { inProcess: true, streamTtlSeconds: 60 });
  const config = workerEnvSchema.parse({ NODE_ENV: 'test', BUILTIN_TOKEN_DELAY_MS: String(tokenDelayMs), WORKER_SHUTDOWN_GRACE_MS: '0' });
  const worker = createWorker(config, { redis, bus, logger, clock: systemClock });
  await worker.start();
  cleanup.push(async () => redis.disconnect(), () => bus.close(), () => worker.stop());
  return { bus, worker, counter: () => redis.get(TOKENS_OUT_COUNTER) };
}

const submit = (bus: InferenceBus, overrides: Partial<JobRequest> = {}) =>
  submitJob(bus, { model: BUILTIN_MODEL, maxTokens: 30, temperature: 0.8, topP: 0.95, seed: 5, priority: 'low', ...overrides });
const ended = hasEnded;

describe('worker on the in-process bus', () => {
  it('streams a built-in completion and counts its tokens in metrics:tokens:out', async () => {
    const { bus, counter } = await setUp(0);
    const job = await submit(bus);
    const events = await eventsUntil(bus, job.jobId, ended);
    const tokens = events.filter(({ event }) => event.type === 'token');
    expect(tokens).toHaveLength(30);
    const completed = events.at(-1)!.event as Extract<JobEvent, { type: 'completed' }>;
    expect(completed).toMatchObject({ type: 'completed', completionTokens: 30 });
    expect(completed.text).toBe(tokens.map(({ event }) => (event as { text: string }).text).join(''));
    expect(await counter()).toBe('30');
  });

  it('stops generating when the job is cancelled', async () => {
    const { bus, worker } = await setUp(5);
    const job = await submit(bus, { maxTokens: 2_000 });
    await eventsUntil(bus, job.jobId, (events) => events.some(({ event }) => event.type === 'token'));
    await bus.log.append(job.jobId, { type: 'cancelled', at: new Date().toISOString() });
    const events = await eventsUntil(bus, job.jobId, ended);
    expect(events.at(-1)!.event.type).toBe('cancelled');
    // The worker's next append is refused: it stops, counts the job cancelled and lets go of it.
    const cancelled = async () => (await worker.registry.getSingleMetric('lotabots_worker_jobs_total')!.get()).values.find((v) => v.labels.outcome === 'cancelled')?.value === 1;
    await waitUntil(cancelled, 'the worker to count the job cancelled', 30_000);
    expect(await bus.queue.reclaim('someone-else', 0)).toEqual([]);
  });
});
