import { randomBytes, randomUUID } from 'node:crypto';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { testEnv } from '../../test/env.js';
import { jobRequest as newJobRequest } from '../../test/inference-kit.js';
import { waitUntil } from '../../test/own-redis.js';
import { within } from '../../test/within.js';
import { JOBS_ENQUEUED_COUNTER, TOKENS_OUT_COUNTER } from '../live/keys.js';
import { connectRedis, deleteKeysWithPrefix, type Redis } from '../redis.js';
import type { InferenceBus, JobEvent, QueuePriority } from './contract.js';
import { createInferenceBus } from './index.js';
import { jobEventsKey } from './keys.js';

/**
 * The contract of lib/inference/contract.ts, run against both implementations: the Redis bus
 * on the real server (a key prefix per test, under one per file) and the in-process bus.
 */
const filePrefix = `tinf${randomBytes(4).toString('hex')}:`;
const opened: Array<{ bus: InferenceBus; redis: Redis }> = [];
let testNumber = 0;

async function openBus(inProcess: boolean, streamTtlSeconds = 3_600) {
  const keyPrefix = `${filePrefix}${++testNumber}:`;
  const redis = await connectRedis({ url: inProcess ? undefined : testEnv.redisUrl, keyPrefix });
  const bus = createInferenceBus(redis, { inProcess, streamTtlSeconds });
  opened.push({ bus, redis });
  return { bus, redis };
}

afterEach(async () => {
  for (const { bus, redis } of opened.splice(0)) {
    await bus.close();
    redis.disconnect();
  }
});
afterAll(() => deleteKeysWithPrefix(testEnv.redisUrl, filePrefix));

const at = '2026-01-01T00:00:00.000Z';
const token = (index: number): JobEvent => ({ type: 'token', index, text: `t${index}` });
const started = (attempt: number): JobEvent => ({ type: 'started', at, workerId: 'w', attempt });
const completed: JobEvent = { type: 'completed', at, promptTokens: 1, completionTokens: 2, timeToFirstTokenMs: 3, tokensPerSecond: 4, text: 't0t1', cached: false };

const jobRequest = (priority: QueuePriority = 'normal') => newJobRequest({ priority });

describe.each([
  ['Redis', false],
  ['in-process', true],
])('inference bus (%s)', (_name, inProcess) => {
  describe('job event log', () => {
    it('numbers events 1, 2, 3… and reads them back after any seq, in order', async () => {
      const { bus } = await openBus(inProcess);
      const jobId = randomUUID();
      expect(await bus.log.append(jobId, { type: 'queued', at })).toBe(1);
      expect(await bus.log.append(jobId, started(1))).toBe(2);
      expect(await bus.log.append(jobId, token(0), { attempt: 1 })).toBe(3);
      const all = await bus.log.read(jobId, 0, { count: 100, blockMs: 0 });
      expect(all).toEqual([
        { seq: 1, event: { type: 'queued', at } },
        { seq: 2, event: started(1) },
        { seq: 3, event: token(0) },
      ]);
      expect(await bus.log.read(jobId, 2, { count: 100, blockMs: 0 })).toEqual([{ seq: 3, event: token(0) }]);
      expect(await bus.log.read(jobId, 0, { count: 2, blockMs: 0 })).toEqual(all.slice(0, 2));
      expect(await bus.log.lastEvent(jobId)).toEqual({ seq: 3, event: token(0) });
      expect(await bus.log.lastEvent(randomUUID())).toBeNull();
    });

    it('refuses every append after a terminal event', async () => {
      const { bus } = await openBus(inProcess);
      const jobId = randomUUID();
      await bus.log.append(jobId, { type: 'queued', at });
      expect(await bus.log.append(jobId, { type: 'cancelled', at })).toBe(2);
      expect(await bus.log.append(jobId, started(1))).toBeNull();
      expect(await bus.log.append(jobId, { type: 'failed', at, code: 'WORKER_LOST', message: 'x' })).toBeNull();
      expect(await bus.log.lastEvent(jobId)).toEqual({ seq: 2, event: { type: 'cancelled', at } });
    });

    it('fences out a worker whose attempt is not the latest started, and lets only one start attempt n', async () => {
      const { bus } = await openBus(inProcess);
      const jobId = randomUUID();
      expect(await bus.log.append(jobId, token(0), { attempt: 1 })).toBeNull();
      expect(await bus.log.append(jobId, started(1))).toBe(1);
      expect(await bus.log.append(jobId, token(0), { attempt: 1 })).toBe(2);
      expect(await bus.log.append(jobId, started(2))).toBe(3);
      expect(await bus.log.append(jobId, started(2))).toBeNull();
      expect(await bus.log.append(jobId, started(1))).toBeNull();
      expect(await bus.log.append(jobId, token(1), { attempt: 1 })).toBeNull();
      expect(await bus.log.append(jobId, token(1), { attempt: 2 })).toBe(4);
      expect(await bus.log.append(jobId, completed, { attempt: 1 })).toBeNull();
      expect(await bus.log.append(jobId, completed, { attempt: 2 })).toBe(5);
    });

    it('wakes a blocked reader when its event arrives, many readers at once', async () => {
      const { bus } = await openBus(inProcess);
      const jobIds = Array.from({ length: 20 }, () => randomUUID());
      for (const jobId of jobIds) await bus.log.append(jobId, { type: 'queued', at });
      const reads = jobIds.map((jobId) => bus.log.read(jobId, 1, { count: 10, blockMs: 25_000 }));
      // Appended one by one while the others still wait: each must wake its own reader.
      for (const jobId of jobIds) await bus.log.append(jobId, started(1));
      const results = await within(Promise.all(reads), 20_000, 'every blocked reader to get its event');
      expect(results).toEqual(jobIds.map(() => [{ seq: 2, event: started(1) }]));
    });

    it('answers an empty list when nothing arrives within blockMs', async () => {
      const { bus } = await openBus(inProcess);
      const jobId = randomUUID();
      await bus.log.append(jobId, { type: 'queued', at });
      expect(await bus.log.read(jobId, 1, { count: 10, blockMs: 50 })).toEqual([]);
    });

    it('counts each token in metrics:tokens:out', async () => {
      const { bus, redis } = await openBus(inProcess);
      const jobId = randomUUID();
      await bus.log.append(jobId, started(1));
      for (let i = 0; i < 3; i++) await bus.log.append(jobId, token(i), { attempt: 1 });
      expect(await redis.get(TOKENS_OUT_COUNTER)).toBe('3');
    });

    it('appends several tokens in one call, in order, counted, all or none under the same checks as one', async () => {
      const { bus, redis } = await openBus(inProcess);
      const jobId = randomUUID();
      const tokens = (from: number, count: number) => Array.from({ length: count }, (_, i) => token(from + i) as Extract<JobEvent, { type: 'token' }>);
      expect(await bus.log.appendTokens(jobId, tokens(0, 2), { attempt: 1 })).toBeNull();
      await bus.log.append(jobId, started(1));
      expect(await bus.log.appendTokens(jobId, tokens(0, 3), { attempt: 1 })).toBe(4);
      expect(await bus.log.appendTokens(jobId, tokens(3, 1), { attempt: 1 })).toBe(5);
      expect(await bus.log.appendTokens(jobId, tokens(4, 2), { attempt: 2 })).toBeNull();
      expect(await redis.get(TOKENS_OUT_COUNTER)).toBe('4');
      expect(await bus.log.append(jobId, { type: 'cancelled', at })).toBe(6);
      expect(await bus.log.appendTokens(jobId, tokens(4, 2), { attempt: 1 })).toBeNull();
      const events = await bus.log.read(jobId, 0, { count: 100, blockMs: 0 });
      expect(events.map(({ seq, event }) => [seq, event.type === 'token' ? event.index : event.type])).toEqual([
        [1, 'started'], [2, 0], [3, 1], [4, 2], [5, 3], [6, 'cancelled'],
      ]);
    });

    it('lets a finished log expire after the retention', async () => {
      const { bus } = await openBus(inProcess, 1);
      const jobId = randomUUID();
      await bus.log.append(jobId, started(1));
      await bus.log.append(jobId, completed, { attempt: 1 });
      expect(await bus.log.lastEvent(jobId)).not.toBeNull();
      await waitUntil(async () => (await bus.log.lastEvent(jobId)) === null, 'the finished log to expire', 30_000);
    });
  });

  describe('lifecycle feed', () => {
    it("carries a completion's tool calls, in the log and on the feed, as they were appended", async () => {
      const { bus } = await openBus(inProcess);
      const jobId = randomUUID();
      const withToolCalls: JobEvent = {
        ...completed,
        toolCalls: [
          { id: 'call_1', name: 'send_email', arguments: '{"to":"ada@example.com"}' },
          { id: 'call_2', name: 'archive', arguments: '{}' },
        ],
      };
      await bus.log.append(jobId, started(1));
      await bus.log.append(jobId, withToolCalls, { attempt: 1 });
      expect(await bus.log.lastEvent(jobId)).toEqual({ seq: 2, event: withToolCalls });
      const taken = await bus.lifecycle.take('subgraph-tools', { count: 10, blockMs: 0 });
      expect(taken.find((entry) => entry.jobId === jobId && entry.event.type === 'completed')?.event).toEqual(withToolCalls);
      await bus.lifecycle.ack(taken.map((entry) => entry.id));
    });

    it('carries started and terminal events (not queued or tokens) once each, and hands unacknowledged ones to another consumer', async () => {
      const { bus } = await openBus(inProcess);
      const jobId = randomUUID();
      await bus.log.append(jobId, { type: 'queued', at });
      await bus.log.append(jobId, started(1));
      await bus.log.append(jobId, token(0), { attempt: 1 });
      await bus.log.append(jobId, completed, { attempt: 1 });
      const taken = await bus.lifecycle.take('subgraph-a', { count: 10, blockMs: 0 });
      expect(taken.map(({ jobId: id, seq, event }) => ({ id, seq, type: event.type }))).toEqual([
        { id: jobId, seq: 2, type: 'started' },
        { id: jobId, seq: 4, type: 'completed' },
      ]);
      expect(taken[1]!.event).toEqual(completed);
      expect(await bus.lifecycle.take('subgraph-b', { count: 10, blockMs: 0 })).toEqual([]);
      await bus.lifecycle.ack([taken[0]!.id]);
      const reclaimed = await bus.lifecycle.reclaim('subgraph-b', 0);
      expect(reclaimed).toEqual([taken[1]]);
      await bus.lifecycle.ack([taken[1]!.id]);
      expect(await bus.lifecycle.reclaim('subgraph-b', 0)).toEqual([]);
    });

    it('answers a blocking take at once when entries wait, each entry to one consumer', async () => {
      const { bus } = await openBus(inProcess);
      const jobId = randomUUID();
      await bus.log.append(jobId, started(1));
      const startedAt = Date.now();
      const taken = await bus.lifecycle.take('subgraph-a', { count: 100, blockMs: 25_000 });
      expect(Date.now() - startedAt).toBeLessThan(5_000);
      expect(taken.filter((entry) => entry.jobId === jobId).map((entry) => entry.event)).toEqual([started(1)]);
      await bus.lifecycle.ack(taken.map((entry) => entry.id));
      expect((await bus.lifecycle.take('subgraph-b', { count: 100, blockMs: 0 })).filter((entry) => entry.jobId === jobId)).toEqual([]);
    });

    it('wakes a blocked take when an event arrives', async () => {
      const { bus } = await openBus(inProcess);
      const jobId = randomUUID();
      const take = bus.lifecycle.take('subgraph-a', { count: 10, blockMs: 25_000 });
      await bus.log.append(jobId, started(1));
      const taken = await within(take, 20_000, 'the blocked take to get the started event');
      expect(taken.map((entry) => entry.event)).toEqual([started(1)]);
    });
  });

  describe('job queue', () => {
    it('hands out the highest priority first and counts only jobs not yet delivered', async () => {
      const { bus } = await openBus(inProcess);
      const low = jobRequest('low');
      const normal = jobRequest('normal');
      const high = jobRequest('high');
      for (const job of [low, normal, high]) await bus.queue.enqueue(job);
      expect(await bus.queue.depth()).toBe(3);
      const first = await bus.queue.take('w1', { blockMs: 0 });
      expect(first).toMatchObject({ priority: 'high', job: high, reclaimed: false });
      expect(await bus.queue.depth()).toBe(2);
      expect((await bus.queue.take('w1', { blockMs: 0 }))?.job).toEqual(normal);
      expect((await bus.queue.take('w2', { blockMs: 0 }))?.job).toEqual(low);
      expect(await bus.queue.take('w2', { blockMs: 0 })).toBeNull();
      expect(await bus.queue.depth()).toBe(0);
      expect(await bus.queue.ack('w1', first!)).toBe(true);
    });

    it('submits a new job with `queued` first in its log, and refuses to submit it again', async () => {
      const { bus } = await openBus(inProcess);
      const job = jobRequest('low');
      const take = bus.queue.take('w1', { blockMs: 25_000 });
      await bus.queue.submit(job);
      expect((await within(take, 20_000, 'the blocked take to get the submitted job'))?.job).toEqual(job);
      expect(await bus.log.read(job.jobId, 0, { count: 10, blockMs: 0 })).toEqual([{ seq: 1, event: { type: 'queued', at: job.enqueuedAt, userId: job.userId } }]);
      expect(await bus.log.append(job.jobId, started(1))).toBe(2);

      await expect(bus.queue.submit(job)).rejects.toThrow(/has an event log already/);
      expect(await bus.queue.depth()).toBe(0);
      expect(await bus.log.lastEvent(job.jobId)).toEqual({ seq: 2, event: started(1) });
    });

    it('counts each enqueued or submitted job in metrics:jobs:enqueued, taken or not (the arrivals the scaling advice forecasts)', async () => {
      const { bus, redis } = await openBus(inProcess);
      for (const priority of ['low', 'normal'] as const) await bus.queue.enqueue(jobRequest(priority));
      await bus.queue.submit(jobRequest('high'));
      await bus.queue.take('w1', { blockMs: 0 });
      expect(await redis.get(JOBS_ENQUEUED_COUNTER)).toBe('3');
    });

    it('wakes a blocked take when a job is enqueued', async () => {
      const { bus } = await openBus(inProcess);
      const job = jobRequest('low');
      const take = bus.queue.take('w1', { blockMs: 25_000 });
      await bus.queue.enqueue(job);
      expect((await within(take, 20_000, 'the blocked take to get the job'))?.job).toEqual(job);
    });

    it('answers null when no job arrives within blockMs', async () => {
      const { bus } = await openBus(inProcess);
      expect(await bus.queue.take('w1', { blockMs: 50 })).toBeNull();
    });

    it("reclaims an idle job for another consumer, after which the first can neither keep it alive nor acknowledge it", async () => {
      const { bus } = await openBus(inProcess);
      const job = jobRequest();
      await bus.queue.enqueue(job);
      const delivery = (await bus.queue.take('dead', { blockMs: 0 }))!;
      expect(await bus.queue.keepAlive('dead', delivery)).toBe(true);
      expect(await bus.queue.reclaim('live', 60_000)).toEqual([]);
      let reclaimed: Awaited<ReturnType<typeof bus.queue.reclaim>> = [];
      await waitUntil(async () => (reclaimed = await bus.queue.reclaim('live', 20)).length > 0, 'the idle job to be reclaimed', 30_000);
      expect(reclaimed).toEqual([{ ...delivery, reclaimed: true }]);
      expect(await bus.queue.keepAlive('dead', delivery)).toBe(false);
      expect(await bus.queue.ack('dead', delivery)).toBe(false);
      expect(await bus.queue.keepAlive('live', reclaimed[0]!)).toBe(true);
      expect(await bus.queue.ack('live', reclaimed[0]!)).toBe(true);
      expect(await bus.queue.reclaim('other', 0)).toEqual([]);
      expect(await bus.queue.depth()).toBe(0);
    });

    it('reclaims at most max jobs at a time', async () => {
      const { bus } = await openBus(inProcess);
      for (let i = 0; i < 3; i++) await bus.queue.enqueue(jobRequest());
      for (let i = 0; i < 3; i++) await bus.queue.take('dead', { blockMs: 0 });
      expect(await bus.queue.reclaim('live', 0, 2)).toHaveLength(2);
      expect(await bus.queue.reclaim('live2', 0, 10)).toHaveLength(3);
    });
  });
});

describe('inference bus (Redis only)', () => {
  it('keeps its entries in the documented keys: the job stream with ids <seq>-0', async () => {
    const { bus, redis } = await openBus(false);
    const jobId = randomUUID();
    await bus.log.append(jobId, { type: 'queued', at });
    await bus.log.append(jobId, started(1));
    const entries = await redis.xrange(jobEventsKey(jobId), '-', '+');
    expect(entries.map(([id]) => id)).toEqual(['1-0', '2-0']);
    const ttl = await redis.ttl(jobEventsKey(jobId));
    expect(ttl).toBeGreaterThan(3_600);
  });

  it('answers a blocked read with the entries that woke it, at most count, without reading them again', async () => {
    const { bus, redis } = await openBus(false);
    const jobId = randomUUID();
    await bus.log.append(jobId, { type: 'queued', at });
    await bus.log.append(jobId, started(1));
    // Counted once answered, so that 2 means both readers found nothing and went on to wait.
    let ranges = 0;
    const xrange = redis.xrange.bind(redis);
    redis.xrange = ((...args: Parameters<typeof xrange>) => xrange(...args).then((entries) => (ranges++, entries))) as typeof redis.xrange;
    const reads = [bus.log.read(jobId, 2, { count: 10, blockMs: 25_000 }), bus.log.read(jobId, 2, { count: 1, blockMs: 25_000 })];
    await waitUntil(async () => ranges === 2, 'both readers to find nothing and wait');
    await bus.log.appendTokens(jobId, [token(0) as Extract<JobEvent, { type: 'token' }>, token(1) as Extract<JobEvent, { type: 'token' }>], { attempt: 1 });
    expect(await within(Promise.all(reads), 20_000, 'both blocked readers to be woken')).toEqual([
      [{ seq: 3, event: token(0) }, { seq: 4, event: token(1) }],
      [{ seq: 3, event: token(0) }],
    ]);
    expect(ranges).toBe(2);
  });

  it('sets the retention as the expiry of a finished log', async () => {
    const { bus, redis } = await openBus(false, 120);
    const jobId = randomUUID();
    await bus.log.append(jobId, started(1));
    await bus.log.append(jobId, completed, { attempt: 1 });
    const ttl = await redis.ttl(jobEventsKey(jobId));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  it('creates the consumer groups again after Redis lost them', async () => {
    const { bus, redis } = await openBus(false);
    await bus.queue.enqueue(jobRequest());
    expect(await bus.queue.depth()).toBe(1);
    await redis.del('inference:queue:normal', 'inference:queue:high', 'inference:queue:low');
    const job = jobRequest();
    await bus.queue.enqueue(job);
    expect((await bus.queue.take('w1', { blockMs: 0 }))?.job).toEqual(job);
  });
});
