import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import type { JobEvent } from '../../../lib/inference/contract.js';
import { createInProcessInferenceBus } from '../../../lib/inference/in-process-bus.js';
import { createLogger } from '../../../lib/logger.js';
import type { Redis } from '../../../lib/redis.js';
import type { InferenceJob } from '../data/__generated__/prisma/client.js';
import type { JobStore } from '../data/job-store.js';
import type { JobsRepository } from '../data/jobs-repository.js';
import { createResponseCache } from '../data/response-cache.js';
import { createLifecycleConsumer } from './lifecycle-consumer.js';
import { createInferenceMetrics } from './metrics.js';

/**
 * The consumer over an in-memory bus, with a store that applies each event type to a known
 * job once (the row's status moves forward only) and a repository that counts its reads.
 */
function setUp(rows: Record<string, Pick<InferenceJob, 'id' | 'userId' | 'cacheKey' | 'autonomyContext'>>) {
  const bus = createInProcessInferenceBus(null, { streamTtlSeconds: 60 });
  const logger = createLogger({ name: 'test', level: 'silent' });
  const rowReads: string[] = [];
  const applied = new Set<string>();
  const usageEvents: string[][] = [];
  const redis = {
    xadd: async (...args: string[]) => {
      usageEvents.push(args);
      return '1-0';
    },
  } as unknown as Redis;
  const store = {
    applyEvent: async (jobId: string, event: JobEvent) => {
      const key = `${jobId}:${event.type}`;
      if (!rows[jobId] || applied.has(key)) return null;
      applied.add(key);
      return rows[jobId] as InferenceJob;
    },
  } as unknown as JobStore;
  const jobs = {
    findJob: async (id: string) => {
      rowReads.push(id);
      return (rows[id] ?? null) as InferenceJob | null;
    },
  } as unknown as JobsRepository;
  const consumer = createLifecycleConsumer({
    bus,
    jobs,
    store,
    cache: createResponseCache({ redis, ttlSeconds: 0, logger }),
    redis,
    metrics: createInferenceMetrics({ queueDepth: async () => 0, liveWorkers: async () => 0 }),
    logger,
  });
  return { bus, consumer, rowReads, usageEvents };
}

const at = () => new Date().toISOString();
const completed = (): JobEvent => ({
  type: 'completed', at: at(), promptTokens: 3, completionTokens: 2, timeToFirstTokenMs: 1, tokensPerSecond: 10, text: 'ab', cached: false,
});

async function until(condition: () => boolean) {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}

describe('inference lifecycle consumer', () => {
  it("applies an event with the one update that answers the job's row, and reads the row apart only when the update changed nothing", async () => {
    const userId = randomUUID();
    const known = randomUUID();
    const unknown = randomUUID();
    const { bus, consumer, rowReads, usageEvents } = setUp({ [known]: { id: known, userId, cacheKey: null, autonomyContext: null } });
    consumer.start();
    await bus.log.append(known, { type: 'started', at: at(), workerId: 'w', attempt: 1 });
    await bus.log.append(known, completed());
    // The usage event names the owner from the updated row.
    await until(() => usageEvents.length === 1);
    expect(usageEvents[0]).toContain(userId);
    expect(rowReads).toEqual([]);

    await bus.log.append(unknown, completed());
    await until(() => rowReads.length === 1);
    await consumer.stop();
    expect(rowReads).toEqual([unknown]);
    expect(usageEvents).toHaveLength(1);
    await bus.close();
  });
});
