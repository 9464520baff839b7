import { randomBytes } from 'node:crypto';
import { once } from 'node:events';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { systemClock } from '../lib/clock.js';
import { createInferenceBus, type InferenceBus, type JobEvent, type JobRequest, type NumberedJobEvent } from '../lib/inference/index.js';
import { createLogger } from '../lib/logger.js';
import { connectRedis, deleteKeysWithPrefix, type Redis } from '../lib/redis.js';
import { testEnv } from '../test/env.js';
import { type FakeOpenAi, fakeToken, startFakeOpenAi } from '../test/fake-openai.js';
import { eventsUntil as eventsUntilOf, jobRequest, submitJob } from '../test/inference-kit.js';
import { waitUntil } from '../test/own-redis.js';
import { bareEnv, spawnEntry } from '../test/spawn.js';
import { within } from '../test/within.js';
import { BUILTIN_MODEL } from './backends/builtin/builtin-backend.js';
import { workerEnvSchema } from './config.js';
import { createWorker, type Worker } from './worker.js';

/**
 * The worker against real Redis and a real local HTTP server speaking OpenAI's streaming
 * protocol (test/fake-openai.ts), plus the built-in backend. Every wait is on an event in the
 * job's log, with a generous limit; no assertion depends on timing.
 */
const keyPrefix = `twrk${randomBytes(4).toString('hex')}:`;
const logger = createLogger({ name: 'test', level: testEnv.logLevel });
const MODEL_MAP = { fast: 'fast', slow: 'slow', broken: 'broken', 'error-chunk': 'error-chunk', hang: 'hang', failing: 'failing' };

let redis: Redis;
let bus: InferenceBus;
let upstream: FakeOpenAi;
const started: Worker[] = [];

beforeAll(async () => {
  redis = await connectRedis({ url: testEnv.redisUrl, keyPrefix });
  bus = createInferenceBus(redis, { inProcess: false, streamTtlSeconds: 600 });
  upstream = await startFakeOpenAi({ tokenCount: 16, slowTokenMs: 60 });
});

afterEach(async () => {
  for (const worker of started.splice(0)) await worker.stop();
});

afterAll(async () => {
  await bus.close();
  redis.disconnect();
  await upstream.close();
  await deleteKeysWithPrefix(testEnv.redisUrl, keyPrefix);
});

function workerSettings(overrides: Record<string, string> = {}) {
  return {
    NODE_ENV: 'test',
    WORKER_ID: `w-${randomBytes(3).toString('hex')}`,
    WORKER_BACKEND: 'openai',
    OPENAI_BASE_URL: upstream.baseUrl,
    OPENAI_API_KEY: 'sk-test-secret',
    OPENAI_MODEL_MAP: JSON.stringify(MODEL_MAP),
    OPENAI_FIRST_TOKEN_TIMEOUT_MS: '3000',
    WORKER_CONCURRENCY: '4',
    WORKER_RECLAIM_IDLE_MS: '1500',
    WORKER_SHUTDOWN_GRACE_MS: '0',
    BUILTIN_TOKEN_DELAY_MS: '0',
    ...overrides,
  };
}

async function startWorker(overrides: Record<string, string> = {}): Promise<Worker> {
  const worker = createWorker(workerEnvSchema.parse(workerSettings(overrides)), { redis, bus, logger, clock: systemClock });
  await worker.start();
  started.push(worker);
  return worker;
}

const submit = (overrides: Partial<JobRequest> = {}) => submitJob(bus, { model: 'fast', ...overrides });
const eventsUntil = (jobId: string, until?: (events: NumberedJobEvent[]) => boolean) => eventsUntilOf(bus, jobId, until);

/** A counter's value for one label set (0 before it was ever incremented). */
async function counterValue(worker: Worker, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await worker.registry.getSingleMetric(name)?.get();
  return metric?.values.find((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted))?.value ?? 0;
}

const types = (events: NumberedJobEvent[]) => events.map(({ event }) => event.type);
const tokensOf = (events: NumberedJobEvent[]) => events.flatMap(({ event }) => (event.type === 'token' ? [event] : []));
const last = (events: NumberedJobEvent[]) => events.at(-1)!.event;
const tokenCount = (count: number) => (events: NumberedJobEvent[]) => tokensOf(events).length >= count;
const expectedText = (count: number) => Array.from({ length: count }, (_, i) => fakeToken(i)).join('');

/** Jobs delivered to a worker and not yet acknowledged, over every priority (read without taking any). */
async function pendingCount(): Promise<number> {
  let count = 0;
  for (const priority of ['high', 'normal', 'low']) {
    const summary = (await redis.xpending(`inference:queue:${priority}`, 'inference-workers').catch(() => [0])) as [number];
    count += Number(summary[0]);
  }
  return count;
}

/** Token indexes 0, 1, 2… each exactly once, in order, and seqs without gaps. */
function expectWellFormed(events: NumberedJobEvent[]) {
  expect(events.map(({ seq }) => seq)).toEqual(events.map((_, i) => i + 1));
  expect(tokensOf(events).map(({ index }) => index)).toEqual(tokensOf(events).map((_, i) => i));
}

describe('worker with the openai backend', () => {
  it('streams a completion from the model server: started, numbered tokens, completed with counts and timings', async () => {
    const worker = await startWorker();
    const job = await submit({ maxTokens: 5 });
    const events = await eventsUntil(job.jobId);
    expect(types(events)).toEqual(['queued', 'started', 'token', 'token', 'token', 'token', 'token', 'completed']);
    expectWellFormed(events);
    expect(events[1]!.event).toMatchObject({ type: 'started', attempt: 1 });
    expect(last(events)).toMatchObject({ type: 'completed', text: expectedText(5), promptTokens: 7, completionTokens: 5, cached: false });
    const completed = last(events) as Extract<JobEvent, { type: 'completed' }>;
    expect(completed.timeToFirstTokenMs).toBeGreaterThanOrEqual(0);
    expect(completed.tokensPerSecond).toBeGreaterThan(0);
    const request = upstream.requests.at(-1)!;
    expect(request.body).toMatchObject({ model: 'fast', max_tokens: 5, temperature: 0, stream: true, messages: job.messages });
    expect(request.authorization).toBe('Bearer sk-test-secret');
    await waitUntil(async () => (await pendingCount()) === 0 && (await counterValue(worker, 'lotabots_worker_jobs_total', { outcome: 'completed' })) === 1, 'the job to be acknowledged and counted');
  });

  it('stops the model server request when the job is cancelled mid-stream, and writes nothing after the cancel', async () => {
    await startWorker();
    const job = await submit({ model: 'slow' });
    await eventsUntil(job.jobId, tokenCount(2));
    const requestsBefore = upstream.requests.filter((request) => request.model === 'slow');
    expect(await bus.log.append(job.jobId, { type: 'cancelled', at: new Date().toISOString() })).not.toBeNull();
    await waitUntil(async () => {
      const settled = await Promise.race([requestsBefore.at(-1)!.aborted.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 100))]);
      return settled;
    }, 'the worker to abort its request to the model server', 30_000);
    const events = await eventsUntil(job.jobId);
    expect(last(events).type).toBe('cancelled');
    expectWellFormed(events);
  });

  it('fails BACKEND_TIMEOUT when the model server goes silent', async () => {
    const worker = await startWorker();
    const job = await submit({ model: 'hang' });
    const events = await eventsUntil(job.jobId);
    expect(types(events)).toEqual(['queued', 'started', 'failed']);
    expect(last(events)).toMatchObject({ type: 'failed', code: 'BACKEND_TIMEOUT', message: expect.stringContaining('first token') });
    await waitUntil(async () => (await counterValue(worker, 'lotabots_worker_backend_errors_total', { code: 'BACKEND_TIMEOUT' })) === 1, 'the timeout to be counted');
  });

  it('fails BACKEND_ERROR with the status when the model server answers 500, without the API key in the message', async () => {
    await startWorker();
    const job = await submit({ model: 'failing' });
    const events = await eventsUntil(job.jobId);
    expect(last(events)).toMatchObject({ type: 'failed', code: 'BACKEND_ERROR', message: expect.stringContaining('HTTP 500') });
    expect(JSON.stringify(events)).not.toContain('sk-test-secret');
  });

  it('fails BACKEND_ERROR when the stream breaks off mid-way, keeping the tokens already sent', async () => {
    await startWorker();
    const cut = await submit({ model: 'broken' });
    const errored = await submit({ model: 'error-chunk' });
    const cutEvents = await eventsUntil(cut.jobId);
    expect(types(cutEvents)).toEqual(['queued', 'started', 'token', 'token', 'token', 'failed']);
    expect(last(cutEvents)).toMatchObject({ code: 'BACKEND_ERROR' });
    const erroredEvents = await eventsUntil(errored.jobId);
    expect(last(erroredEvents)).toMatchObject({ code: 'BACKEND_ERROR', message: expect.stringContaining('CUDA out of memory') });
  });

  it('fails UNKNOWN_MODEL for a model this worker does not serve, and skips a job cancelled while queued, leaving no model request running', async () => {
    await startWorker();
    const unknown = await submit({ model: 'not-served' });
    expect(last(await eventsUntil(unknown.jobId))).toMatchObject({ type: 'failed', code: 'UNKNOWN_MODEL' });
    // A slow model: a request sent along with the refused `started` would still be streaming when the job is skipped.
    const prompt = `cancelled while queued ${randomBytes(6).toString('hex')}`;
    const job = jobRequest({ model: 'slow', messages: [{ role: 'user', content: prompt }] });
    await bus.log.append(job.jobId, { type: 'queued', at: job.enqueuedAt });
    await bus.log.append(job.jobId, { type: 'cancelled', at: job.enqueuedAt });
    await bus.queue.enqueue(job);
    await waitUntil(async () => (await bus.queue.depth()) === 0 && (await pendingCount()) === 0, 'the cancelled job to be taken and acknowledged');
    expect(types(await bus.log.read(job.jobId, 0, { count: 10, blockMs: 0 }))).toEqual(['queued', 'cancelled']);
    for (const request of upstream.requests.filter(({ lastMessage }) => lastMessage === prompt)) await within(request.aborted, 10_000, 'the model request of the skipped job to be aborted');
  });
});

describe('worker with the builtin backend', () => {
  it('generates the same text for the same seed, and respects max tokens', async () => {
    await startWorker({ WORKER_BACKEND: 'builtin' });
    const request = { model: BUILTIN_MODEL, temperature: 0.9, topP: 0.95, seed: 1234, maxTokens: 40 };
    const [a, b] = await Promise.all([submit(request), submit(request)]);
    const other = await submit({ ...request, seed: 99 });
    const [eventsA, eventsB, eventsOther] = await Promise.all([eventsUntil(a.jobId), eventsUntil(b.jobId), eventsUntil(other.jobId)]);
    const textA = (last(eventsA) as Extract<JobEvent, { type: 'completed' }>).text;
    expect(last(eventsA)).toMatchObject({ type: 'completed', completionTokens: 40 });
    expect(tokensOf(eventsA)).toHaveLength(40);
    expect(textA.length).toBeGreaterThan(40);
    expect((last(eventsB) as Extract<JobEvent, { type: 'completed' }>).text).toBe(textA);
    expect((last(eventsOther) as Extract<JobEvent, { type: 'completed' }>).text).not.toBe(textA);
  });

  it('ends the completion before a stop sequence', async () => {
    await startWorker({ WORKER_BACKEND: 'builtin' });
    const free = await submit({ model: BUILTIN_MODEL, seed: 7, temperature: 0.8, maxTokens: 200 });
    const text = (last(await eventsUntil(free.jobId)) as Extract<JobEvent, { type: 'completed' }>).text;
    const stop = text.slice(40, 48);
    const stopped = await submit({ model: BUILTIN_MODEL, seed: 7, temperature: 0.8, maxTokens: 200, stop: [stop] });
    const events = await eventsUntil(stopped.jobId);
    expect((last(events) as Extract<JobEvent, { type: 'completed' }>).text).toBe(text.slice(0, text.indexOf(stop)));
    expect(tokensOf(events).map(({ text: t }) => t).join('')).toBe(text.slice(0, text.indexOf(stop)));
  });
});

describe('worker shutdown and takeover', () => {
  it('requeues running jobs on shutdown; another worker resumes a deterministic one without repeating a token', async () => {
    const first = await startWorker();
    const job = await submit({ model: 'slow', temperature: 0 });
    await eventsUntil(job.jobId, tokenCount(3));
    started.splice(started.indexOf(first), 1);
    await first.stop();
    expect((await bus.log.lastEvent(job.jobId))?.event.type).toBe('token');
    expect(await bus.queue.depth()).toBe(1);
    await startWorker();
    const events = await eventsUntil(job.jobId);
    expect(last(events)).toMatchObject({ type: 'completed', text: expectedText(16) });
    expect(events.filter(({ event }) => event.type === 'started').map(({ event }) => (event as { attempt: number }).attempt)).toEqual([1, 2]);
    expectWellFormed(events);
  });

  describe.each([
    ['a deterministic job is completed', { temperature: 0 }, 'completed'],
    ['a sampled job without a seed fails WORKER_LOST', { temperature: 0.7, seed: null }, 'failed'],
  ] as const)('a worker process SIGKILLed mid-job: %s by another worker', (_name, request, outcome) => {
    it('is taken over once idle, with no repeated or missing token index', async () => {
      const workerId = `child-${randomBytes(3).toString('hex')}`;
      const child = spawnEntry('worker/main.ts', {
        env: {
          ...bareEnv(),
          ...workerSettings({ WORKER_ID: workerId }),
          REDIS_URL: testEnv.redisUrl,
          REDIS_KEY_PREFIX: keyPrefix,
          PORT: '0',
          METRICS_PORT: '0',
          LOG_LEVEL: 'silent',
        },
      });
      try {
        const job = await submit({ model: 'slow', ...request });
        const before = await eventsUntil(job.jobId, tokenCount(3));
        expect(before.find(({ event }) => event.type === 'started')!.event).toMatchObject({ workerId });
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
        await startWorker();
        const events = await eventsUntil(job.jobId);
        expectWellFormed(events);
        if (outcome === 'completed') {
          expect(last(events)).toMatchObject({ type: 'completed', text: expectedText(16), completionTokens: 16 });
        } else {
          expect(last(events)).toMatchObject({ type: 'failed', code: 'WORKER_LOST' });
          expect(tokensOf(events).length).toBeGreaterThanOrEqual(3);
        }
        await waitUntil(async () => (await pendingCount()) === 0 && (await bus.queue.depth()) === 0, 'the job to leave the queue');
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    }, 60_000);
  });
});
