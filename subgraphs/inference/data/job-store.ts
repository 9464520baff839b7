import type { JobEvent } from '../../../lib/inference/contract.js';
import { createReadCache } from '../../../lib/read-cache.js';
import type { InferenceJob, JobStatus, Model, Prisma } from './__generated__/prisma/client.js';
import type { InferencePrisma } from './database.js';

/**
 * @default 5_000 // ms a model found enabled is reused by submissions without reading it again:
 * reference data an operator changes rarely, so disabling one takes effect within 5 s.
 */
const ENABLED_MODEL_CACHE_MS = 5_000;
/** @default 1_000 // models kept: far more than any deployment serves. */
const MAX_CACHED_MODELS = 1_000;

/** What a queued job's row is written from; the rest of its columns start at their defaults. */
export interface NewQueuedJob {
  id: string;
  userId: string;
  modelId: string;
  prompt: string;
  messages: Array<{ role: string; content: string }>;
  maxTokens: number;
  temperature: number;
  topP: number;
  stop: string[];
  seed: number | null;
  autonomyContext: string | null;
  autonomyLevel: string;
  priority: string;
  cacheKey: string | null;
}

/** Statuses a job can still leave; every other is final. The SQL of `createQueuedJobWithin` names them too. */
export const ACTIVE_STATUSES: JobStatus[] = ['QUEUED', 'RUNNING'];

/** A page of the caller's jobs: newest first, keyed by (createdAt, id) so pages never skip or repeat a row. */
export interface JobPage {
  rows: InferenceJob[];
  hasNextPage: boolean;
}

/** An opaque cursor: the (createdAt, id) of the page's last row. */
export const encodeJobCursor = (job: Pick<InferenceJob, 'createdAt' | 'id'>) =>
  Buffer.from(JSON.stringify([job.createdAt.toISOString(), job.id])).toString('base64url');

/** The (createdAt, id) a cursor names, or null when it is not one of ours. */
export function decodeJobCursor(cursor: string): { createdAt: Date; id: string } | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string' || typeof value[1] !== 'string') return null;
    const createdAt = new Date(value[0]);
    return Number.isNaN(createdAt.getTime()) ? null : { createdAt, id: value[1] };
  } catch {
    return null;
  }
}

/**
 * How a lifecycle event changes the job row: which statuses it may move from (status only
 * moves forward, so a redelivered or late event changes nothing) and what it writes.
 */
function transitionOf(event: JobEvent): { from: JobStatus[]; data: Prisma.InferenceJobUpdateManyMutationInput } | null {
  switch (event.type) {
    case 'started':
      return { from: ['QUEUED'], data: { status: 'RUNNING', startedAt: new Date(event.at) } };
    case 'completed':
      return {
        from: ACTIVE_STATUSES,
        data: {
          status: 'SUCCEEDED',
          output: event.text,
          tokensIn: event.promptTokens,
          tokensOut: event.completionTokens,
          timeToFirstTokenMs: Math.round(event.timeToFirstTokenMs),
          tokensPerSecond: event.tokensPerSecond,
          cached: event.cached,
          finishedAt: new Date(event.at),
        },
      };
    case 'failed':
      return { from: ACTIVE_STATUSES, data: { status: 'FAILED', errorCode: event.code, error: event.message, finishedAt: new Date(event.at) } };
    case 'cancelled':
      return { from: ACTIVE_STATUSES, data: { status: 'CANCELLED', finishedAt: new Date(event.at) } };
    default:
      return null;
  }
}

/** Writes of the submit, cancel and lifecycle flows, and the caller's pages of jobs. */
export function createJobStore(prisma: InferencePrisma) {
  const enabledModels = createReadCache<string, Model | null>({ ttlMs: ENABLED_MODEL_CACHE_MS, max: MAX_CACHED_MODELS });
  return {
    /** The model when it is enabled; one found enabled is reused for ENABLED_MODEL_CACHE_MS. */
    findEnabledModel: async (id: string): Promise<Model | null> =>
      enabledModels.get(id) ?? enabledModels.read(id, () => prisma.model.findFirst({ where: { id, enabled: true } }), (model) => model !== null),
    createJob: (data: Prisma.InferenceJobUncheckedCreateInput) => prisma.inferenceJob.create({ data }),
    /**
     * A queued job's row, or null (nothing written) when its user already has `maxActive` jobs
     * queued or running: the count and the insert are one statement, one round trip on the
     * submit path instead of a count then an insert.
     */
    async createQueuedJobWithin(job: NewQueuedJob, maxActive: number): Promise<InferenceJob | null> {
      const rows = await prisma.$queryRaw<InferenceJob[]>`
        INSERT INTO "inference"."InferenceJob" ("id", "userId", "modelId", "prompt", "messages", "maxTokens", "temperature", "topP", "stop", "seed",
          "autonomyContext", "autonomyLevel", "priority", "cacheKey", "status")
        SELECT ${job.id}::uuid, ${job.userId}::uuid, ${job.modelId}, ${job.prompt}, ${JSON.stringify(job.messages)}::jsonb, ${job.maxTokens},
          ${job.temperature}, ${job.topP}, ${job.stop}::text[], ${job.seed}, ${job.autonomyContext}, ${job.autonomyLevel}, ${job.priority},
          ${job.cacheKey}, 'QUEUED'::"inference"."JobStatus"
        WHERE (SELECT count(*) FROM "inference"."InferenceJob" WHERE "userId" = ${job.userId}::uuid AND "status" IN ('QUEUED', 'RUNNING')) < ${maxActive}
        RETURNING *`;
      return rows[0] ?? null;
    },
    async pageOfUser(userId: string, first: number, after: { createdAt: Date; id: string } | null): Promise<JobPage> {
      const rows = await prisma.inferenceJob.findMany({
        where: {
          userId,
          ...(after && { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: first + 1,
      });
      return { rows: rows.slice(0, first), hasNextPage: rows.length > first };
    },
    /**
     * Applies one lifecycle event to its job row, idempotently: the row as changed, or null when
     * the event was already applied, arrives after a later one, or names no job. One statement
     * (UPDATE … RETURNING), so whoever needs the row after the change does not read it again.
     */
    async applyEvent(jobId: string, event: JobEvent): Promise<InferenceJob | null> {
      const transition = transitionOf(event);
      if (!transition) return null;
      const [changed] = await prisma.inferenceJob.updateManyAndReturn({ where: { id: jobId, status: { in: transition.from } }, data: transition.data });
      return changed ?? null;
    },
  };
}

export type JobStore = ReturnType<typeof createJobStore>;
