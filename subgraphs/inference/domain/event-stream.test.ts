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
