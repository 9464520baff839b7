import { randomUUID } from 'node:crypto';

import { trace } from '@opentelemetry/api';
import { GraphQLError } from 'graphql';

import { canSeeDataOf, DATA_ADMIN_SCOPES } from '../../../lib/auth/ownership.js';
import type { Principal } from '../../../lib/auth/principal.js';
import type { Clock } from '../../../lib/clock.js';
import { early } from '../../../lib/early.js';
import { badUserInput, conflict, forbidden, graphqlError, notFound, serviceUnavailable, unauthenticated } from '../../../lib/errors.js';
import { isUuid } from '../../../lib/ids.js';
import type { InferenceBus, JobEvent, JobRequest, NumberedJobEvent, QueuePriority } from '../../../lib/inference/contract.js';
import type { Logger } from '../../../lib/logger.js';
import { checkTokenQuota } from '../../../lib/plans/quotas.js';
import { isRedisUnavailable, type Redis } from '../../../lib/redis.js';
import { throttledWarning } from '../../../lib/throttled-warning.js';
import { ATTR_INFERENCE_JOB_ID, traceHeaders } from '../../../lib/tracing/index.js';
import type { SubmitInferenceInput } from '../__generated__/resolvers-types.js';
import type { InferenceConfig } from '../config.js';
import type { InferenceJob } from '../data/__generated__/prisma/client.js';
import type { AutonomyClient } from '../data/autonomy-client.js';
import { ACTIVE_STATUSES, type JobStore, type NewQueuedJob } from '../data/job-store.js';
import type { JobsRepository } from '../data/jobs-repository.js';
import type { CachedCompletion, ResponseCache } from '../data/response-cache.js';
import type { InferenceMetrics } from './metrics.js';
import { cacheKeyOf, type CompletionRequest, isDeterministic, type RequestLimits, validateRequest } from './request.js';
import { claimRunKey, fingerprintOf, IDEMPOTENCY_KEY, runKeyOf } from './run-keys.js';
import { withSystemPrompt } from './system-prompts.js';

/** Plan tier → queue priority (unknown tiers are free). */
export const PRIORITY_OF_PLAN: Record<string, QueuePriority> = { enterprise: 'high', pro: 'normal' };
export const priorityOf = (plan: string): QueuePriority => PRIORITY_OF_PLAN[plan] ?? 'low';

export type SubmissionSettings = RequestLimits &
  Pick<InferenceConfig, 'INFERENCE_MAX_ACTIVE_JOBS_PER_USER' | 'INFERENCE_MAX_QUEUE_DEPTH' | 'INFERENCE_RETRY_AFTER_SECONDS'>;

export interface SubmissionDeps {
  jobs: JobsRepository;
  store: JobStore;
  bus: Pick<InferenceBus, 'log' | 'queue'>;
  autonomy: AutonomyClient;
  cache: ResponseCache;
  /** Where the monthly token counters and the plan catalogue are (`lib/plans/quotas.ts`). */
  redis: Redis;
  metrics: InferenceMetrics;
  settings: SubmissionSettings;
  clock: Clock;
  logger: Logger;
}

/** A submission checked and ready to write (`prepare`), its limits read but not yet decided. */
interface Prepared {
  row: Omit<NewQueuedJob, 'id'>;
  request: CompletionRequest;
  jobRequest: Omit<JobRequest, 'jobId' | 'enqueuedAt'>;
  queueDepth: () => Promise<number>;
}

/** A run's job and the events of it already known (streamed before its log is read). */
export interface Run {
  jobId: string;
  known: NumberedJobEvent[];
}

/** The user a submission acts for: a signed-in user or an API key's owner; nobody else owns jobs. */
function submitterOf(principal: Principal): string {
  if ((principal.kind === 'user' || principal.kind === 'apiKey') && principal.userId) return principal.userId;
  if (principal.kind === 'anonymous') throw unauthenticated('Sign in to submit inference jobs');
  throw forbidden('Inference jobs belong to a LotaBots user: use an access token or an API key');
}

/** Redis could not be asked: SERVICE_UNAVAILABLE (retry later) rather than a masked internal error. */
async function onRedis<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (isRedisUnavailable(error)) throw serviceUnavailable('The inference queue cannot be reached right now; retry later');
    throw error;
  }
}

/**
 * `submitInference`, `runInference` and `cancelInference`. A submission is validated, then
 * checked against the caller's autonomy level (NO_AI: AUTONOMY_FORBIDS; level unknown:
 * SERVICE_UNAVAILABLE) and the plan's monthly token quota (a hard one used up:
 * QUOTA_EXCEEDED), then answered from the response cache when it is deterministic and cached,
 * else checked against the queue's depth, stored within the per-user limit, announced
 * (`queued`) and enqueued.
 */
export function createSubmissions(deps: SubmissionDeps) {
  const { store, bus, settings, metrics } = deps;
  const now = () => deps.clock.now().toISOString();
  const refuse = (code: 'RATE_LIMITED', message: string) => {
    metrics.refused(code);
    return graphqlError(code, message, { retryAfter: settings.INFERENCE_RETRY_AFTER_SECONDS });
  };
  const quotaUnchecked = throttledWarning(deps.logger, 'token quota not checked: Redis unavailable');

  /**
   * QUOTA_EXCEEDED when a hard monthly token quota is used up, which refuses the job, cached or
   * not (a cache hit is metered too); null otherwise. Redis unreachable: allowed, as the
   * gateway's request quota does (a business limit, not protection; the queue then decides
   * whether the job can run at all).
   */
  async function tokenQuotaRefusal(userId: string, plan: string): Promise<GraphQLError | null> {
    try {
      await checkTokenQuota(deps.redis, { userId, plan }, deps.clock.now());
      return null;
    } catch (error) {
      if (isRedisUnavailable(error)) {
        quotaUnchecked(error);
        return null;
      }
      // checkTokenQuota's only GraphQL error is QUOTA_EXCEEDED.
      if (error instanceof GraphQLError) return error;
      throw error;
    }
  }

  /**
   * Stores a queued job within the limits: the queue's depth (fail fast: a job that would wait
   * behind this many others is refused rather than queued forever), then the caller's active
   * jobs, counted by the insert itself.
   */
  async function storeQueuedJob(row: Prepared['row'], jobId: string, queueDepth: () => Promise<number>): Promise<InferenceJob> {
    if ((await queueDepth()) >= settings.INFERENCE_MAX_QUEUE_DEPTH) {
      throw refuse('RATE_LIMITED', 'The inference queue is full; retry later');
    }
    const job = await store.createQueuedJobWithin({ ...row, id: jobId }, settings.INFERENCE_MAX_ACTIVE_JOBS_PER_USER);
    if (!job) throw refuse('RATE_LIMITED', `At most ${settings.INFERENCE_MAX_ACTIVE_JOBS_PER_USER} jobs may be queued or running at once`);
    return job;
  }

  /**
   * A cache hit becomes a job that completed at once: its row is final from the start and
   * its log holds the events a worker would have written (queued, the tokens, completed with
   * `cached`), so `inferenceEvents` streams it like any other job.
   */
  async function completeFromCache(row: NewQueuedJob, hit: CachedCompletion): Promise<InferenceJob> {
    const at = deps.clock.now();
    const job = await store.createJob({
      ...row,
      status: 'SUCCEEDED',
      cached: true,
      output: hit.text,
      tokensIn: hit.promptTokens,
      tokensOut: hit.completionTokens,
      timeToFirstTokenMs: 0,
      startedAt: at,
      finishedAt: at,
    });
    const events: JobEvent[] = [
      { type: 'queued', at: at.toISOString(), userId: row.userId },
      ...hit.tokens.map((text, index): JobEvent => ({ type: 'token', index, text })),
      {
        type: 'completed',
        at: at.toISOString(),
        promptTokens: hit.promptTokens,
        completionTokens: hit.completionTokens,
        timeToFirstTokenMs: 0,
        tokensPerSecond: 0,
        text: hit.text,
        cached: true,
      },
    ];
    await onRedis(async () => {
      for (const event of events) await bus.log.append(job.id, event);
    });
    metrics.cacheHit();
    metrics.jobReached('succeeded');
    return job;
  }

  async function enqueue(job: InferenceJob, request: CompletionRequest, jobRequest: Omit<JobRequest, 'jobId' | 'enqueuedAt'>, enqueuedAt: string): Promise<void> {
    try {
      await bus.queue.submit({ ...jobRequest, jobId: job.id, enqueuedAt });
    } catch (error) {
      // A job no worker will ever see: its row must not count against the caller's active jobs,
      // and its log (when `queued` made it there) must end, or a subscriber would wait forever.
      const failed: JobEvent = { type: 'failed', at: now(), code: 'ENQUEUE_FAILED', message: 'The job could not be queued' };
      await store.applyEvent(job.id, failed);
      await bus.log.append(job.id, failed).catch(() => null);
      deps.logger.warn({ err: error, jobId: job.id, model: request.model }, 'enqueueing an inference job failed');
      if (isRedisUnavailable(error)) throw serviceUnavailable('The inference queue cannot be reached right now; retry later');
      throw error;
    }
    metrics.jobReached('queued');
  }

  /**
   * Everything a submission checks before it writes: the request validated, then the model,
   * the caller's autonomy level (NO_AI: AUTONOMY_FORBIDS; unknown: SERVICE_UNAVAILABLE) and
   * the plan's monthly token quota (a hard one used up: QUOTA_EXCEEDED), read together. The
   * queue's depth is read too, but decided by `commit` (a cache hit is exempt).
   */
  async function prepare(principal: Principal, input: SubmitInferenceInput): Promise<Prepared> {
    const userId = submitterOf(principal);
    const request = validateRequest(input, settings);
    const enabledModel = early(() => store.findEnabledModel(request.model));
    const effectiveLevel = early(() => deps.autonomy.effectiveLevel(userId, request.context));
    const tokenRefusal = early(() => tokenQuotaRefusal(userId, principal.plan));
    const queueDepth = early(() => onRedis(() => bus.queue.depth()));

    const model = await enabledModel();
    if (!model) throw badUserInput(`Unknown model ${JSON.stringify(request.model)}: see models`, { argument: 'input.model' });
    if (request.maxTokens > model.contextWindow) {
      throw badUserInput(`maxTokens must be at most ${model.contextWindow} for ${model.id}`, { argument: 'input.maxTokens' });
    }
    const level = await effectiveLevel();
    if (level === 'NO_AI') {
      metrics.refused('AUTONOMY_FORBIDS');
      throw graphqlError('AUTONOMY_FORBIDS', 'Your autonomy level for this context is NO_AI: no AI may run for it', {
        level,
        context: request.context,
      });
    }
    const quotaExceeded = await tokenRefusal();
    if (quotaExceeded) {
      metrics.refused('QUOTA_EXCEEDED');
      throw quotaExceeded;
    }
    const messages = withSystemPrompt(level, request.messages);
    const cacheKey = deps.cache.enabled && isDeterministic(request) ? cacheKeyOf({ ...request, messages }) : null;
    const priority = priorityOf(principal.plan);
    const row = {
      userId,
      modelId: model.id,
      prompt: request.prompt,
      messages: request.messages.map(({ role, content }) => ({ role, content })),
      maxTokens: request.maxTokens,
      temperature: request.temperature,
      topP: request.topP,
      stop: request.stop,
      seed: request.seed,
      autonomyContext: request.context,
      autonomyLevel: level,
      priority,
      cacheKey,
    };
    const { maxTokens, temperature, topP, stop, seed } = request;
    const jobRequest = { userId, model: model.id, messages, maxTokens, temperature, topP, stop, seed, autonomyLevel: level, priority };
    return { row, request, jobRequest, queueDepth };
  }

  /**
   * Writes a prepared submission as job `jobId`: from the response cache when it is
   * deterministic and cached, else stored within the queue and per-user limits, announced
   * (`queued`) and enqueued. Answers the job and, unless it came from the cache,
   * the `queued` event it was announced with.
   */
  async function commit(prepared: Prepared, jobId: string): Promise<{ job: InferenceJob; queued: NumberedJobEvent | null }> {
    const { row, request } = prepared;
    const hit = row.cacheKey ? await deps.cache.get(row.cacheKey) : null;
    if (hit) return { job: await completeFromCache({ ...row, id: jobId }, hit), queued: null };
    const job = await storeQueuedJob(row, jobId, prepared.queueDepth);
    trace.getActiveSpan()?.setAttribute(ATTR_INFERENCE_JOB_ID, job.id);
    const enqueuedAt = now();
    // The request's trace context travels with the job: the worker's spans join this trace.
    await enqueue(job, request, { ...prepared.jobRequest, ...traceHeaders() }, enqueuedAt);
    // What the bus's submit wrote as the log's first event.
    return { job, queued: { seq: 1, event: { type: 'queued', at: enqueuedAt, userId: row.userId } } };
  }

  return {
    async submit(principal: Principal, input: SubmitInferenceInput): Promise<InferenceJob> {
      return (await commit(await prepare(principal, input), randomUUID())).job;
    },

    /**
     * `runInference`: a submission whose stream starts at its `queued` event, known here and
     * so not read back (`known`; empty for a job from the cache, whose log has every event).
     * With an idempotency key, the caller's earlier run under that key (same input) is the
     * answer, `known` empty; the key is claimed while the submission is checked, and freed
     * again when it is refused.
     */
    async run(principal: Principal, input: SubmitInferenceInput, idempotencyKey: string | null | undefined): Promise<Run> {
      const jobId = randomUUID();
      if (idempotencyKey == null) {
        const { queued } = await commit(await prepare(principal, input), jobId);
        return { jobId, known: queued ? [queued] : [] };
      }
      const userId = submitterOf(principal);
      if (!IDEMPOTENCY_KEY.test(idempotencyKey)) {
        throw badUserInput('idempotencyKey must be 1 to 128 letters, digits, or . _ : -', { argument: 'idempotencyKey' });
      }
      const key = runKeyOf(userId, idempotencyKey);
      const [claim, prepared] = await Promise.allSettled([onRedis(() => claimRunKey(deps.redis, key, jobId, fingerprintOf(input))), prepare(principal, input)]);
      if (claim.status === 'rejected') throw claim.reason;
      if (claim.value !== null) return { jobId: claim.value, known: [] };
      try {
        if (prepared.status === 'rejected') throw prepared.reason;
        const { queued } = await commit(prepared.value, jobId);
        return { jobId, known: queued ? [queued] : [] };
      } catch (error) {
        // Nothing was submitted under the key: a retry with it submits anew.
        await deps.redis.del(key).catch(() => null);
        throw error;
      }
    },

    /** Owner or `inference:admin`; CONFLICT once the job has a terminal event. */
    async cancel(principal: Principal, jobId: string): Promise<InferenceJob> {
      const job = isUuid(jobId) ? await deps.jobs.findJob(jobId) : null;
      if (!job || !canSeeDataOf(principal, job.userId, DATA_ADMIN_SCOPES.inference)) throw notFound('Inference job');
      // A finished job's log may have expired; appending to it then would start a new one.
      if (!ACTIVE_STATUSES.includes(job.status)) throw conflict('The inference job has already finished');
      const cancelled: JobEvent = { type: 'cancelled', at: now() };
      // The log decides: the worker's next append is refused, and it stops the backend request.
      const seq = await onRedis(() => bus.log.append(jobId, cancelled));
      if (seq === null) throw conflict('The inference job has already finished');
      const changed = await store.applyEvent(jobId, cancelled);
      if (changed) metrics.jobReached('cancelled');
      return changed ?? (await deps.jobs.findJob(jobId)) ?? job;
    },
  };
}

export type Submissions = ReturnType<typeof createSubmissions>;
