import { JOBS_ENQUEUED_COUNTER, TOKENS_OUT_COUNTER } from '../live/keys.js';
import type { Redis } from '../redis.js';
import {
  type Delivery,
  type InferenceBus,
  type InferenceBusOptions,
  type JobEvent,
  type JobEventLog,
  type JobQueue,
  type JobRequest,
  LIFECYCLE_MAX_LENGTH,
  type LifecycleEntry,
  type LifecycleFeed,
  MAX_BLOCK_MS,
  type NumberedJobEvent,
  QUEUE_PRIORITIES,
  type QueuePriority,
  SAFETY_TTL_SECONDS,
} from './contract.js';
import { jobEventsKey, LIFECYCLE_GROUP, LIFECYCLE_STREAM, QUEUE_GROUP, queueKey } from './keys.js';
import { withInferenceScripts } from './redis-scripts.js';
import { type StreamEntry, type StreamReply, StreamWaiter } from './stream-waiter.js';

const QUEUE_KEYS = QUEUE_PRIORITIES.map(queueKey);

/** The value of `name` in an entry's flat field list. */
function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

const seqOf = (id: string) => Number(id.slice(0, id.indexOf('-')));

function toNumbered([id, fields]: StreamEntry): NumberedJobEvent {
  return { seq: seqOf(id), event: JSON.parse(field(fields, 'event')!) as JobEvent };
}

function toLifecycle([id, fields]: StreamEntry): LifecycleEntry {
  return { id, jobId: field(fields, 'jobId')!, seq: Number(field(fields, 'seq')), event: JSON.parse(field(fields, 'data')!) as JobEvent };
}

/** A queue entry's job, or null when it is not one (nothing the subgraph writes): dropped. */
function jobOf(fields: string[]): JobRequest | null {
  try {
    const job = JSON.parse(field(fields, 'job') ?? '') as JobRequest;
    return typeof job?.jobId === 'string' ? job : null;
  } catch {
    return null;
  }
}

const isNoGroup = (error: unknown) => error instanceof Error && error.message.startsWith('NOGROUP');

/**
 * The bus on Redis streams (see contract.ts for the semantics). Appends are one Lua script
 * each; blocking reads go over connections of the bus's own (never the shared client,
 * whose other commands would wait behind a BLOCK): one multiplexed connection for every
 * `log.read`, one for `queue.take`, one for `lifecycle.take` (each serves one call at a time).
 */
export function createRedisInferenceBus(shared: Redis, options: InferenceBusOptions): InferenceBus {
  const redis = withInferenceScripts(shared, QUEUE_KEYS.length);
  const prefix = redis.options.keyPrefix ?? '';
  const waiter = new StreamWaiter(redis);
  const blocking = new Map<string, Promise<Redis>>();
  /** A connection for one kind of blocking call, opened on first use. */
  const blockingConnection = (purpose: string) => {
    let connection = blocking.get(purpose);
    if (!connection) {
      connection = (async () => {
        const client = redis.duplicate({ lazyConnect: true, commandTimeout: MAX_BLOCK_MS + 5_000 });
        client.on('error', () => {});
        await client.connect();
        return client;
      })();
      connection.catch(() => blocking.delete(purpose));
      blocking.set(purpose, connection);
    }
    return connection;
  };

  let groups: Promise<void> | null = null;
  /** Creates the consumer groups (and their streams) once; again after Redis lost them. */
  const ensureGroups = () => {
    groups ??= Promise.all(
      [...QUEUE_KEYS.map((key) => [key, QUEUE_GROUP]), [LIFECYCLE_STREAM, LIFECYCLE_GROUP]].map(([key, group]) =>
        redis.inferenceCreateGroup(key!, group!),
      ),
    ).then(
      () => {},
      (error: unknown) => {
        groups = null;
        throw error;
      },
    );
    return groups;
  };
  const withGroups = async <T>(operation: () => Promise<T>): Promise<T> => {
    await ensureGroups();
    try {
      return await operation();
    } catch (error) {
      if (!isNoGroup(error)) throw error;
      groups = null;
      await ensureGroups();
      return operation();
    }
  };

  const log: JobEventLog = {
    async append(jobId, event, fence) {
      return redis.inferenceAppend(
        jobEventsKey(jobId),
        LIFECYCLE_STREAM,
        TOKENS_OUT_COUNTER,
        event.type,
        JSON.stringify(event),
        fence ? fence.attempt : '',
        event.type === 'started' ? event.attempt : '',
        options.streamTtlSeconds,
        SAFETY_TTL_SECONDS,
        jobId,
        LIFECYCLE_MAX_LENGTH,
      );
    },
    async appendTokens(jobId, tokens, fence) {
      if (tokens.length === 0) throw new Error('appendTokens needs at least one token');
      return redis.inferenceAppendTokens(jobEventsKey(jobId), TOKENS_OUT_COUNTER, fence.attempt, SAFETY_TTL_SECONDS, ...tokens.map((token) => JSON.stringify(token)));
    },
    async read(jobId, after, { count, blockMs }) {
      const key = jobEventsKey(jobId);
      const afterId = `${after}-0`;
      const readNow = async () => ((await redis.xrange(key, `(${afterId}`, '+', 'COUNT', count)) as StreamEntry[]).map(toNumbered);
      const events = await readNow();
      if (events.length > 0 || blockMs <= 0) return events;
      // The entries that ended the wait come with it: the next ones after `after`, read once.
      const woken = await waiter.wait(key, afterId, blockMs);
      return woken !== null && woken.length > 0 ? woken.slice(0, count).map(toNumbered) : readNow();
    },
    async lastEvent(jobId) {
      const [last] = (await redis.xrevrange(jobEventsKey(jobId), '+', '-', 'COUNT', 1)) as StreamEntry[];
      return last ? toNumbered(last) : null;
    },
  };

  /** Entries the blocking take got beyond the one it returned (one per queue at most), per consumer. */
  const extra = new Map<string, Delivery[]>();
  const priorityOfKey = new Map(QUEUE_PRIORITIES.map((priority) => [prefix + queueKey(priority), priority]));

  const queue: JobQueue = {
    async submit(job) {
      const queued: JobEvent = { type: 'queued', at: job.enqueuedAt, userId: job.userId };
      const done = await redis.inferenceSubmit(jobEventsKey(job.jobId), queueKey(job.priority), JOBS_ENQUEUED_COUNTER, JSON.stringify(queued), SAFETY_TTL_SECONDS, JSON.stringify(job));
      if (done === null) throw new Error(`job ${job.jobId} has an event log already`);
    },
    async enqueue(job) {
      // The counter in the same transaction: the scaling advisor's arrival rate counts exactly the queued jobs.
      const results = await redis.multi().xadd(queueKey(job.priority), '*', 'job', JSON.stringify(job)).incr(JOBS_ENQUEUED_COUNTER).exec();
      for (const [error] of results ?? []) if (error) throw error;
    },
    depth: () => withGroups(() => redis.inferenceDepth(...QUEUE_KEYS, QUEUE_GROUP)),
    async take(consumer, { blockMs }) {
      const buffered = extra.get(consumer)?.shift();
      if (buffered) return buffered;
      const delivered = (priority: QueuePriority, id: string, fields: string[]): Delivery | 'invalid' => {
        const job = jobOf(fields);
        if (job) return { id, priority, job, reclaimed: false };
        void redis.multi().xack(queueKey(priority), QUEUE_GROUP, id).xdel(queueKey(priority), id).exec();
        return 'invalid';
      };
      for (;;) {
        const now = await withGroups(() => redis.inferenceTake(...QUEUE_KEYS, QUEUE_GROUP, consumer));
        if (now) {
          const result = delivered(QUEUE_PRIORITIES[now[0] - 1]!, now[1], now[2]);
          if (result === 'invalid') continue;
          return result;
        }
        if (blockMs <= 0) return null;
        const connection = await blockingConnection('queue');
        const reply = (await withGroups(() =>
          connection.xreadgroup(
            'GROUP', QUEUE_GROUP, consumer, 'COUNT', 1, 'BLOCK', Math.min(blockMs, MAX_BLOCK_MS),
            'STREAMS', ...QUEUE_KEYS, ...QUEUE_KEYS.map(() => '>'),
          ),
        )) as StreamReply | null;
        if (!reply) return null;
        const deliveries = reply
          .flatMap(([key, entries]) => entries.map(([id, fields]) => delivered(priorityOfKey.get(key)!, id, fields)))
          .filter((result): result is Delivery => result !== 'invalid')
          .sort((a, b) => QUEUE_PRIORITIES.indexOf(a.priority) - QUEUE_PRIORITIES.indexOf(b.priority));
        const [first, ...rest] = deliveries;
        if (rest.length > 0) extra.set(consumer, [...(extra.get(consumer) ?? []), ...rest]);
        if (first) return first;
      }
    },
    async reclaim(consumer, minIdleMs, max = 10) {
      const claimed: Delivery[] = [];
      for (const priority of QUEUE_PRIORITIES) {
        if (claimed.length >= max) break;
        const [, entries] = (await withGroups(() =>
          redis.xautoclaim(queueKey(priority), QUEUE_GROUP, consumer, minIdleMs, '0-0', 'COUNT', max - claimed.length),
        )) as [string, StreamEntry[]];
        for (const [id, fields] of entries) {
          const job = jobOf(fields);
          if (job) claimed.push({ id, priority, job, reclaimed: true });
          else await redis.multi().xack(queueKey(priority), QUEUE_GROUP, id).xdel(queueKey(priority), id).exec();
        }
      }
      return claimed;
    },
    async keepAlive(consumer, delivery) {
      return (await redis.inferenceHold(queueKey(delivery.priority), QUEUE_GROUP, consumer, delivery.id, 'touch')) === 1;
    },
    async ack(consumer, delivery) {
      return (await redis.inferenceHold(queueKey(delivery.priority), QUEUE_GROUP, consumer, delivery.id, 'ack')) === 1;
    },
  };

  const lifecycle: LifecycleFeed = {
    async take(consumer, { count, blockMs }) {
      // A blocking read answers at once when entries wait: it is the only read, not a second one after an empty look.
      const connection = blockMs > 0 ? await blockingConnection('lifecycle') : null;
      const reply = (await withGroups(() =>
        connection
          ? connection.xreadgroup('GROUP', LIFECYCLE_GROUP, consumer, 'COUNT', count, 'BLOCK', Math.min(blockMs, MAX_BLOCK_MS), 'STREAMS', LIFECYCLE_STREAM, '>')
          : redis.xreadgroup('GROUP', LIFECYCLE_GROUP, consumer, 'COUNT', count, 'STREAMS', LIFECYCLE_STREAM, '>'),
      )) as StreamReply | null;
      return (reply?.[0]?.[1] ?? []).map(toLifecycle);
    },
    async reclaim(consumer, minIdleMs) {
      const [, entries] = (await withGroups(() => redis.xautoclaim(LIFECYCLE_STREAM, LIFECYCLE_GROUP, consumer, minIdleMs, '0-0', 'COUNT', 100))) as [string, StreamEntry[]];
      return entries.map(toLifecycle);
    },
    async ack(ids) {
      if (ids.length > 0) await redis.xack(LIFECYCLE_STREAM, LIFECYCLE_GROUP, ...ids);
    },
  };

  return {
    log,
    queue,
    lifecycle,
    async close() {
      await waiter.close();
      for (const connection of blocking.values()) (await connection.catch(() => null))?.disconnect();
      blocking.clear();
    },
  };
}
