import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import type { Principal } from '../../../lib/auth/principal.js';
import { createInProcessInferenceBus } from '../../../lib/inference/in-process-bus.js';
import { createLogger } from '../../../lib/logger.js';
import type { InferenceJob } from '../data/__generated__/prisma/client.js';
import type { JobsRepository } from '../data/jobs-repository.js';
import { createEventStreams } from './event-stream.js';

const user = (userId: string): Principal => ({
  kind: 'user', userId, subject: `user:${userId}`, roles: [], scopes: [], plan: 'free', sessionId: null, apiKeyId: null, clientIp: null,
});

/** Streams over an in-memory bus, with a jobs repository that counts its reads. */
function setUp(rows: Record<string, Pick<InferenceJob, 'userId' | 'status'>>) {
  const bus = createInProcessInferenceBus(null, { streamTtlSeconds: 60 });
  const rowReads: string[] = [];
  const jobs = {
    findJob: async (id: string) => {
      rowReads.push(id);
      return (rows[id] ?? null) as InferenceJob | null;
    },
  } as unknown as JobsRepository;
  const streams = createEventStreams({ jobs, bus, logger: createLogger({ name: 'test', level: 'silent' }) });
  return { bus, streams, rowReads };
}

describe('inferenceEvents access', () => {
  it("checks the owner from the log's queued event without reading the job's row; another user's job is NOT_FOUND", async () => {
    const owner = randomUUID();
    const jobId = randomUUID();
    const { bus, streams, rowReads } = setUp({ [jobId]: { userId: owner, status: 'QUEUED' } });
    await bus.log.append(jobId, { type: 'queued', at: new Date().toISOString(), userId: owner });
    await bus.log.append(jobId, { type: 'cancelled', at: new Date().toISOString() });

    const queue = await streams.open(user(owner), jobId, 0);
    expect((await queue.next()).value).toMatchObject({ seq: 1, event: { type: 'queued' } });
    await expect(streams.open(user(randomUUID()), jobId, 0)).rejects.toMatchObject({ extensions: { code: 'NOT_FOUND' } });
    expect(rowReads).toEqual([]);
    await bus.close();
  });

  it('falls back to the row when the log does not name the owner', async () => {
    const owner = randomUUID();
    const jobId = randomUUID();
    const { bus, streams, rowReads } = setUp({ [jobId]: { userId: owner, status: 'QUEUED' } });
    await bus.log.append(jobId, { type: 'queued', at: new Date().toISOString() });

    await expect(streams.open(user(randomUUID()), jobId, 0)).rejects.toMatchObject({ extensions: { code: 'NOT_FOUND' } });
    const queue = await streams.open(user(owner), jobId, 0);
    expect((await queue.next()).value).toMatchObject({ seq: 1, event: { type: 'queued' } });
    await queue.return?.();
    expect(rowReads).toEqual([jobId, jobId]);
    await bus.close();
  });
});

describe('inferenceEvents reads', () => {
  /** Records the `after` of every log read and counts the lastEvent calls. */
  function countReads(bus: ReturnType<typeof setUp>['bus']) {
    const reads = { after: [] as number[], last: 0 };
    const { read, lastEvent } = bus.log;
    bus.log.read = (id, after, options) => {
      reads.after.push(after);
      return read.call(bus.log, id, after, options);
    };
    bus.log.lastEvent = (id) => {
      reads.last++;
      return lastEvent.call(bus.log, id);
    };
    return reads;
  }

  /** Every event the stream yields until it ends. */
  async function drain(queue: AsyncIterator<unknown>) {
    const items: unknown[] = [];
    for (let item = await queue.next(); !item.done; item = await queue.next()) items.push(item.value);
    return items;
  }

  it('streams the events already logged from the read that found the owner, without reading the log again', async () => {
    const owner = randomUUID();
    const jobId = randomUUID();
    const { bus, streams } = setUp({});
    const at = new Date().toISOString();
    await bus.log.append(jobId, { type: 'queued', at, userId: owner });
    await bus.log.append(jobId, { type: 'token', index: 0, text: 'a' });
    await bus.log.append(jobId, { type: 'token', index: 1, text: 'b' });
    await bus.log.append(jobId, { type: 'cancelled', at });
    const reads = countReads(bus);

    const items = await drain(await streams.open(user(owner), jobId, 0));
    expect(items).toMatchObject([{ seq: 1 }, { seq: 2 }, { seq: 3 }, { seq: 4, event: { type: 'cancelled' } }]);
    // The short first page is the whole log: neither read again nor asked for its last event.
    expect(reads).toEqual({ after: [0], last: 0 });
    // Resuming after an event seen: only what follows it.
    expect(await drain(await streams.open(user(owner), jobId, 2))).toMatchObject([{ seq: 3 }, { seq: 4 }]);
    await expect(streams.open(user(owner), jobId, 5)).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    await bus.close();
  });

  it('goes on reading after the first page while the job runs', async () => {
    const owner = randomUUID();
    const jobId = randomUUID();
    const { bus, streams } = setUp({ [jobId]: { userId: owner, status: 'RUNNING' } });
    const at = new Date().toISOString();
    await bus.log.append(jobId, { type: 'queued', at, userId: owner });
    await bus.log.append(jobId, { type: 'token', index: 0, text: 'a' });

    const queue = await streams.open(user(owner), jobId, 0);
    expect((await queue.next()).value).toMatchObject({ seq: 1 });
    expect((await queue.next()).value).toMatchObject({ seq: 2 });
    const next = queue.next();
    await bus.log.append(jobId, { type: 'cancelled', at });
    expect((await next).value).toMatchObject({ seq: 3, event: { type: 'cancelled' } });
    expect((await queue.next()).done).toBe(true);
    await bus.close();
  });
});

describe('inferenceEvents of a long log', () => {
  it('asks for the last event when the first page is full, and streams the rest from where the page ended', async () => {
    const owner = randomUUID();
    const jobId = randomUUID();
    const { bus, streams } = setUp({});
    const at = new Date().toISOString();
    await bus.log.append(jobId, { type: 'queued', at, userId: owner });
    for (let index = 0; index < 150; index++) await bus.log.append(jobId, { type: 'token', index, text: 't' });
    await bus.log.append(jobId, { type: 'cancelled', at });
    const { lastEvent } = bus.log;
    let lastReads = 0;
    bus.log.lastEvent = (id) => {
      lastReads++;
      return lastEvent.call(bus.log, id);
    };

    const queue = await streams.open(user(owner), jobId, 0);
    const seqs: number[] = [];
    for (let item = await queue.next(); !item.done; item = await queue.next()) seqs.push((item.value as { seq: number }).seq);
    expect(seqs).toEqual(Array.from({ length: 152 }, (_, i) => i + 1));
    expect(lastReads).toBe(1);
    // Past the log's end is refused, as the last event says.
    await expect(streams.open(user(owner), jobId, 153)).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    await bus.close();
  });
});
