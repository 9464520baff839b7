import type { GraphQLError } from 'graphql';

import { canSeeDataOf, DATA_ADMIN_SCOPES } from '../../../lib/auth/ownership.js';
import type { Principal } from '../../../lib/auth/principal.js';
import { early } from '../../../lib/early.js';
import { badUserInput, conflict, notFound, serviceUnavailable } from '../../../lib/errors.js';
import { isUuid } from '../../../lib/ids.js';
import { type InferenceBus, isTerminal, type NumberedJobEvent } from '../../../lib/inference/contract.js';
import { createEventQueue, type EventQueue } from '../../../lib/live/event-queue.js';
import type { Logger } from '../../../lib/logger.js';
import { isRedisUnavailable } from '../../../lib/redis.js';
import { ACTIVE_STATUSES } from '../data/job-store.js';
import type { JobsRepository } from '../data/jobs-repository.js';

/** One of the job's events, with the job's id (the `queued` event names it). */
export type StreamEvent = NumberedJobEvent & { jobId: string };

/** What the stream yields: the job's events, and at most one error, last. */
export type StreamItem = StreamEvent | GraphQLError;

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

  /**
   * After a wait without events: the job ended at or before `position` (nothing more will
   * come), or its row is final while its log never got a terminal event (Redis failed while
   * the subgraph ended it), in which case the stream ends rather than wait for the log to expire.
   */
  async function endState(jobId: string, position: number): Promise<'open' | 'ended' | 'incomplete'> {
    if (endedBy(await log.lastEvent(jobId), position)) return 'ended';
    const job = await deps.jobs.findJob(jobId);
    if (job && ACTIVE_STATUSES.includes(job.status)) return 'open';
    // Rows become final after their log's terminal event: one that landed since the first look is read next.
    const last = await log.lastEvent(jobId);
    return last !== null && isTerminal(last.event) ? 'open' : 'incomplete';
  }

  return {
    async open(principal: Principal, jobId: string, after: number): Promise<EventQueue<StreamItem>> {
      if (!Number.isInteger(after) || after < 0) throw badUserInput('after must be 0 or the seq of an event already seen', { argument: 'after' });
      if (!isUuid(jobId)) throw notFound('Inference job');
      // The log's first event names the owner, so the job's row is read only when the log does
      // not (gone, or Redis away); the log's events are looked at only once the owner allows it.
      // The first page is also the stream's first batch: a client that subscribes right after
      // submitting gets the events already logged without another round trip.
      // A page shorter than a full one is the whole log, so its last event is the log's last
      // and the log is read once; otherwise (or when the read failed) its last event is asked for.
      const firstPage = await log.read(jobId, 0, { count: READ_COUNT, blockMs: 0 }).catch(() => null);
      const page = firstPage ?? [];
      const lastInLog = early(() => (firstPage && firstPage.length < READ_COUNT ? Promise.resolve(firstPage.at(-1) ?? null) : log.lastEvent(jobId)));
      const ownerInLog = page[0]?.event.type === 'queued' ? page[0].event.userId : undefined;
      let job = ownerInLog === undefined ? await deps.jobs.findJob(jobId) : null;
      const owner = ownerInLog ?? job?.userId;
      // Someone else's job answers exactly like a missing one.
      if (owner === undefined || !canSeeDataOf(principal, owner, DATA_ADMIN_SCOPES.inference)) throw notFound('Inference job');
      const last = await lastInLog().catch((error: unknown) => {
        if (isRedisUnavailable(error)) throw serviceUnavailable('Inference events cannot be read right now; retry later');
        throw error;
      });
      if (last === null) {
        // The log expired since its first event was read, or never was: the row says whether more will come.
        job ??= await deps.jobs.findJob(jobId);
        if (!job || !ACTIVE_STATUSES.includes(job.status)) throw conflict('The events of this finished job have expired; read inferenceJob for its result');
      }
      if (after > (last?.seq ?? 0)) throw badUserInput(`after is past the job's last event (${last?.seq ?? 0})`, { argument: 'after' });

      if (endedBy(last, after)) {
        const ended = createEventQueue<StreamItem>({ maxBuffered: Number.POSITIVE_INFINITY });
        ended.end();
        return ended;
      }
      return stream(jobId, after, page);
    },

    /**
     * `runInference`: the events of a job the caller has just submitted, from the first, the
     * `known` ones (its `queued` event) without reading them back; no ownership read (the
     * caller submitted it).
     */
    follow(jobId: string, known: NumberedJobEvent[]): EventQueue<StreamItem> {
      return stream(jobId, 0, known);
    },
  };

  /** The job's events after `after`: `first` (events already read), then read from the log until the terminal one. */
  function stream(jobId: string, after: number, first: NumberedJobEvent[]): EventQueue<StreamItem> {
    const queue = createEventQueue<StreamItem>({ maxBuffered: Number.POSITIVE_INFINITY });
    // An error mid-stream is the stream's last item, answered as that event's error (an
    // iterator that threw would reach the gateway as a failed upstream instead).
    const endWith = (error: GraphQLError) => {
      queue.push(error);
      queue.end();
    };
    const checkEnded = async (position: number) => {
      const state = await endState(jobId, position);
      if (state === 'ended') queue.end();
      if (state === 'incomplete') endWith(conflict('The job ended without a complete event log; read inferenceJob for its result'));
    };
    let position = after;
    /** Queues the events after `position`, in order; the queue ends after a terminal one. */
    const deliver = (events: NumberedJobEvent[]) => {
      for (const event of events) {
        if (event.seq <= position) continue;
        queue.push({ ...event, jobId });
        position = event.seq;
        if (isTerminal(event.event)) {
          queue.end();
          return;
        }
      }
    };
    deliver(first);
    if (queue.ended) return queue;
    void (async () => {
      try {
        while (!queue.ended) {
          const events = await log.read(jobId, position, { count: READ_COUNT, blockMs: READ_BLOCK_MS });
          if (queue.ended) return;
          deliver(events);
          if (events.length === 0) await checkEnded(position);
        }
      } catch (error) {
        deps.logger.warn({ err: error, jobId }, 'reading inference events failed');
        if (isRedisUnavailable(error)) endWith(serviceUnavailable('Inference events cannot be read right now; resubscribe with after'));
        else queue.end(error);
      }
    })();
    return queue;
  }
}

export type EventStreams = ReturnType<typeof createEventStreams>;
