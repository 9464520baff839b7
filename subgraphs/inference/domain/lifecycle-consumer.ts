import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import { ZodError } from 'zod';

import { proposeAction } from '../../../lib/autonomy/actions.js';
import { uuidV5 } from '../../../lib/ids.js';
import type { InferenceBus, JobEvent, LifecycleEntry } from '../../../lib/inference/contract.js';
import { recordUsageEvent } from '../../../lib/live/usage-events.js';
import type { Logger } from '../../../lib/logger.js';
import type { Redis } from '../../../lib/redis.js';
import { pacedReclaim } from '../../../lib/streams/paced-reclaim.js';
import { throttledWarning } from '../../../lib/throttled-warning.js';
import type { InferenceJob } from '../data/__generated__/prisma/client.js';
import type { JobStore } from '../data/job-store.js';
import type { JobsRepository } from '../data/jobs-repository.js';
import type { ResponseCache } from '../data/response-cache.js';
import { STATE_AFTER } from './events.js';
import type { InferenceMetrics } from './metrics.js';

/** @default 2_000 // ms one take waits for entries; the loop then checks whether it should stop (bounds shutdown). */
const TAKE_BLOCK_MS = 2_000;
/** @default 50 // entries per take. */
const TAKE_COUNT = 50;
/**
 * @default 30_000 // ms an entry may stay unacknowledged before a consumer takes it over: a
 * replica that died holding it, or this one after a failed update (PostgreSQL down), which
 * the next reclaim retries.
 */
const RECLAIM_IDLE_MS = 30_000;
/**
 * @default 2_000 // ms between looks for idle entries to take over (XAUTOCLAIM) once a look found
 * none: as often as an idle loop's rounds come anyway (TAKE_BLOCK_MS), rather than once more
 * per round when busy.
 */
const RECLAIM_EVERY_MS = TAKE_BLOCK_MS;
/** @default 1_000 // ms to wait after a failed round before the next, so an outage is not a busy loop. */
const FAILURE_PAUSE_MS = 1_000;
/** @default 1_000 // events per read when collecting a completion's tokens for the cache. */
const TOKEN_READ_COUNT = 1_000;

export interface LifecycleConsumerDeps {
  bus: Pick<InferenceBus, 'lifecycle' | 'log'>;
  jobs: JobsRepository;
  store: JobStore;
  cache: ResponseCache;
  redis: Redis;
  metrics: InferenceMetrics;
  logger: Logger;
}

/**
 * Consumes `inference:lifecycle` in the consumer group `inference-subgraph` (one consumer per
 * replica): each `started` or terminal event updates its job row (status only moves forward,
 * so redelivery changes nothing), a completion fills the response cache when the request was
 * deterministic and records the usage event (`inference:<jobId>`, which the usage aggregator
 * counts once however often it arrives), proposes each tool call the model made as an action
 * (`proposeAction`, with an `actionId` derived from the job and the call, so the autonomy
 * subgraph records it once however often it arrives), and only then is the entry acknowledged.
 */
export function createLifecycleConsumer(deps: LifecycleConsumerDeps) {
  const consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  let running = false;
  let loop: Promise<void> | null = null;
  const reclaim = pacedReclaim(RECLAIM_EVERY_MS);
  // While PostgreSQL or Redis is down every round fails; one line per 10 s says so.
  const roundFailed = throttledWarning(deps.logger, 'inference lifecycle round failed; retrying');

  /** The completion's tokens by index, from the job's log (an index never written stays a hole). */
  async function tokensOf(jobId: string): Promise<string[]> {
    const tokens: string[] = [];
    let position = 0;
    for (;;) {
      const events = await deps.bus.log.read(jobId, position, { count: TOKEN_READ_COUNT, blockMs: 0 });
      for (const { event } of events) if (event.type === 'token') tokens[event.index] = event.text;
      if (events.length < TOKEN_READ_COUNT) return tokens;
      position = events[events.length - 1]!.seq;
    }
  }

  /**
   * One proposal per tool call. The job's level decides nothing here: the autonomy subgraph
   * holds each at the user's level when it arrives (subgraphs/autonomy/README.md). A call the
   * contract refuses (a worker that did not check it) is logged and skipped, never retried.
   */
  async function proposeActions(job: InferenceJob, completed: Extract<JobEvent, { type: 'completed' }>): Promise<void> {
    for (const call of completed.toolCalls ?? []) {
      const action = {
        actionId: uuidV5(job.id, call.id),
        jobId: job.id,
        userId: job.userId,
        context: job.autonomyContext,
        name: call.name,
        arguments: call.arguments,
        proposedAt: completed.at,
      };
      try {
        await proposeAction(deps.redis, action);
      } catch (error) {
        if (!(error instanceof ZodError)) throw error;
        deps.logger.warn({ jobId: job.id, actionId: action.actionId, tool: call.name, issues: error.issues.map((issue) => issue.path.join('.')) }, 'tool call skipped: not a valid proposal');
      }
    }
  }

  async function apply(entry: LifecycleEntry): Promise<void> {
    const { jobId, event } = entry;
    // The update answers the row; it is read apart only when the event changed nothing (redelivered, late, or no such job).
    const changed = await deps.store.applyEvent(jobId, event);
    const applied = changed !== null;
    const job = changed ?? (await deps.jobs.findJob(jobId));
    if (!job) {
      deps.logger.warn({ jobId, type: event.type }, 'lifecycle event of an unknown inference job skipped');
      return;
    }
    const state = STATE_AFTER[event.type];
    if (applied && state) deps.metrics.jobReached(state);
    if (event.type !== 'completed') return;
    if (applied && !event.cached) {
      deps.metrics.completed(event.timeToFirstTokenMs, event.tokensPerSecond);
      // A completion that proposed actions is not cached: a replay would skip its proposals.
      if (job.cacheKey && !event.toolCalls?.length) {
        const tokens = await tokensOf(jobId);
        // Only a complete record is cached: a replay must give exactly the original events.
        if (tokens.length === event.completionTokens && Object.keys(tokens).length === tokens.length) {
          await deps.cache.put(job.cacheKey, { tokens, text: event.text, promptTokens: event.promptTokens, completionTokens: event.completionTokens });
        }
      }
    }
    await proposeActions(job, event);
    await recordUsageEvent(deps.redis, {
      eventId: `inference:${jobId}`,
      userId: job.userId,
      at: event.at,
      operationName: 'submitInference',
      requests: 0,
      tokensIn: event.promptTokens,
      tokensOut: event.completionTokens,
    });
  }

  async function round(): Promise<void> {
    const reclaimed = await reclaim(() => deps.bus.lifecycle.reclaim(consumer, RECLAIM_IDLE_MS));
    const entries = [...reclaimed, ...(await deps.bus.lifecycle.take(consumer, { count: TAKE_COUNT, blockMs: TAKE_BLOCK_MS }))];
    const done: string[] = [];
    try {
      // In order: a job's started comes before its terminal event.
      for (const entry of entries) {
        await apply(entry);
        done.push(entry.id);
      }
    } finally {
      if (done.length > 0) await deps.bus.lifecycle.ack(done);
    }
  }

  return {
    consumer,
    /** Starts the loop (idempotent). */
    start(): void {
      if (running) return;
      running = true;
      loop = (async () => {
        while (running) {
          try {
            await round();
          } catch (error) {
            if (!running) break;
            roundFailed(error);
            await new Promise((resolve) => setTimeout(resolve, FAILURE_PAUSE_MS).unref());
          }
        }
      })();
    },
    /** Stops after the current round (at most one take's wait); unacknowledged entries stay for the next consumer. */
    async stop(): Promise<void> {
      running = false;
      await loop;
      loop = null;
    },
  };
}

export type LifecycleConsumer = ReturnType<typeof createLifecycleConsumer>;
