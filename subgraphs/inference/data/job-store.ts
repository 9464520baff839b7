import type { JobEvent } from '../../../lib/inference/contract.js';
import type { InferenceJob, JobStatus, Prisma } from './__generated__/prisma/client.js';
import type { InferencePrisma } from './database.js';

/** Statuses a job can still leave; every other is final. */
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
  return {
    findEnabledModel: (id: string) => prisma.model.findFirst({ where: { id, enabled: true } }),
    createJob: (data: Prisma.InferenceJobUncheckedCreateInput) => prisma.inferenceJob.create({ data }),
    countActive: (userId: string) => prisma.inferenceJob.count({ where: { userId, status: { in: ACTIVE_STATUSES } } }),
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
