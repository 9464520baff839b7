import { canSeeDataOf, DATA_ADMIN_SCOPES } from '../../../lib/auth/ownership.js';
import type { Principal } from '../../../lib/auth/principal.js';
import { badUserInput, conflict, notFound, serviceUnavailable } from '../../../lib/errors.js';
import { isUuid } from '../../../lib/ids.js';
import { type InferenceBus, isTerminal, type NumberedJobEvent } from '../../../lib/inference/contract.js';
import { createEventQueue, type EventQueue } from '../../../lib/live/event-queue.js';
import type { Logger } from '../../../lib/logger.js';
import { isRedisUnavailable } from '../../../lib/redis.js';
import { ACTIVE_STATUSES } from '../data/job-store.js';
import type { JobsRepository } from '../data/jobs-repository.js';

/** @default 100 // events per read: a burst of tokens arrives in a few round trips. */
const READ_COUNT = 100;
/**
 * @default 10_000 // ms one read waits for new events. The bus waits for every stream on one
 * shared connection, so a long wait costs nothing; between waits the stream checks whether the
 * job ended at or before the client's position (nothing more would ever come).
 */
const READ_BLOCK_MS = 10_000;

/**
 * `inferenceEvents(jobId, after)`: the job's events with seq > `after`, in order, ending after
 * the terminal one. Reads go through the bus, whose blocking waits share one dedicated
 * connection (never the shared client). The stream stops reading as soon as the client goes
 * away (`return()` of the queue).
 */
export function createEventStreams(deps: { jobs: JobsRepository; bus: Pick<InferenceBus, 'log'>; logger: Logger }) {
  const { log } = deps.bus;

  /** The job ended at or before `after`: nothing more will come. */
  const endedBy = (last: NumberedJobEvent | null, after: number) => last !== null && isTerminal(last.event) && last.seq <= after;

  return {
    async open(principal: Principal, jobId: string, after: number): Promise<EventQueue<NumberedJobEvent>> {
      if (!Number.isInteger(after) || after < 0) throw badUserInput('after must be 0 or the seq of an event already seen', { argument: 'after' });
      const job = isUuid(jobId) ? await deps.jobs.findJob(jobId) : null;
      // Someone else's job answers exactly like a missing one.
      if (!job || !canSeeDataOf(principal, job.userId, DATA_ADMIN_SCOPES.inference)) throw notFound('Inference job');
      const last = await log.lastEvent(jobId).catch((error: unknown) => {
        if (isRedisUnavailable(error)) throw serviceUnavailable('Inference events cannot be read right now; retry later');
        throw error;
      });
      if (last === null && !ACTIVE_STATUSES.includes(job.status)) {
        throw conflict('The events of this finished job have expired; read inferenceJob for its result');
      }
      if (after > (last?.seq ?? 0)) throw badUserInput(`after is past the job's last event (${last?.seq ?? 0})`, { argument: 'after' });

      const queue = createEventQueue<NumberedJobEvent>({ maxBuffered: Number.POSITIVE_INFINITY });
      if (endedBy(last, after)) {
        queue.end();
        return queue;
      }
      void (async () => {
        let position = after;
        try {
          while (!queue.ended) {
            const events = await log.read(jobId, position, { count: READ_COUNT, blockMs: READ_BLOCK_MS });
            if (queue.ended) return;
            for (const event of events) {
              queue.push(event);
              position = event.seq;
              if (isTerminal(event.event)) {
                queue.end();
                return;
              }
            }
            if (events.length === 0 && endedBy(await log.lastEvent(jobId), position)) queue.end();
          }
        } catch (error) {
          deps.logger.warn({ err: error, jobId }, 'reading inference events failed');
          queue.end(isRedisUnavailable(error) ? serviceUnavailable('Inference events cannot be read right now; resubscribe with after') : error);
        }
      })();
      return queue;
    },
  };
}

export type EventStreams = ReturnType<typeof createEventStreams>;
