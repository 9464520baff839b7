import { JOBS_ENQUEUED_COUNTER, TOKENS_OUT_COUNTER } from '../live/keys.js';
import type { Redis } from '../redis.js';
import {
  type Delivery,
  type Fence,
  type InferenceBus,
  type InferenceBusOptions,
  isLifecycleEvent,
  isTerminal,
  type JobEvent,
  type JobEventLog,
  type JobQueue,
  LIFECYCLE_MAX_LENGTH,
  type LifecycleEntry,
  type LifecycleFeed,
  MAX_BLOCK_MS,
  type NumberedJobEvent,
  QUEUE_PRIORITIES,
  type QueuePriority,
  SAFETY_TTL_SECONDS,
} from './contract.js';

/** Wakes whoever waits on a name; a waiter also wakes after its time is up. */
class Signals {
  readonly #waiting = new Map<string, Set<() => void>>();

  wait(name: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.#waiting.get(name) ?? new Set();
      this.#waiting.set(name, set);
      const wake = () => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0 && this.#waiting.get(name) === set) this.#waiting.delete(name);
        resolve();
      };
      const timer = setTimeout(wake, Math.min(ms, MAX_BLOCK_MS));
      set.add(wake);
    });
  }

  notify(name: string): void {
    for (const wake of [...(this.#waiting.get(name) ?? [])]) wake();
  }

  notifyAll(): void {
    for (const name of [...this.#waiting.keys()]) this.notify(name);
  }
}

interface MemoryLog {
  events: NumberedJobEvent[];
  /** The attempt of the latest `started` (0 before any). */
  attempt: number;
  expiresAt: number;
}

interface Held<T> {
  item: T;
  consumer: string;
  lastActiveAt: number;
}

/** @default 60_000 // ms between sweeps of expired logs. */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * The bus in this process's memory, with the Redis bus's semantics, for `npm start` without a
 * Redis server: the in-process Redis stand-in (ioredis-mock) has no consumer groups. Every
 * step of an append happens synchronously, so it is as atomic as the Lua script. `counter`
 * (the platform's Redis, the stand-in) receives the `metrics:tokens:out` and `metrics:jobs:enqueued` increments.
 */
export function createInProcessInferenceBus(counter: Redis | null, options: InferenceBusOptions): InferenceBus {
  const signals = new Signals();
  const logs = new Map<string, MemoryLog>();
  let nextId = 0;
  const newId = () => `${++nextId}-0`;

  const liveLog = (jobId: string) => {
    const found = logs.get(jobId);
    if (found && found.expiresAt <= Date.now()) logs.delete(jobId);
    return found && found.expiresAt > Date.now() ? found : undefined;
  };
  const sweeper = setInterval(() => {
    for (const [jobId, entry] of logs) if (entry.expiresAt <= Date.now()) logs.delete(jobId);
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  const lifecycleWaiting: LifecycleEntry[] = [];
  const lifecycleHeld = new Map<string, Held<LifecycleEntry>>();

  /** One append's whole effect on the log, synchronously (as atomic as the Lua script); the token counter is the caller's. */
  const add = (jobId: string, event: JobEvent, fence?: Fence): number | null => {
    const entry = liveLog(jobId) ?? { events: [], attempt: 0, expiresAt: 0 };
    const last = entry.events.at(-1);
    if (last && isTerminal(last.event)) return null;
    if (fence && fence.attempt !== entry.attempt) return null;
    if (event.type === 'started') {
      if (event.attempt <= entry.attempt) return null;
      entry.attempt = event.attempt;
    }
    const seq = (last?.seq ?? 0) + 1;
    entry.events.push({ seq, event });
    entry.expiresAt = Date.now() + (isTerminal(event) ? options.streamTtlSeconds : SAFETY_TTL_SECONDS) * 1_000;
    logs.set(jobId, entry);
    if (isLifecycleEvent(event)) {
      lifecycleWaiting.push({ id: newId(), jobId, seq, event });
      if (lifecycleWaiting.length > LIFECYCLE_MAX_LENGTH) lifecycleWaiting.shift();
      signals.notify('lifecycle');
    }
    signals.notify(`log:${jobId}`);
    return seq;
  };

  const log: JobEventLog = {
    async append(jobId, event, fence) {
      const seq = add(jobId, event, fence);
      if (seq !== null && event.type === 'token' && counter) await counter.incr(TOKENS_OUT_COUNTER);
      return seq;
    },
    async appendTokens(jobId, tokens, fence) {
      if (tokens.length === 0) throw new Error('appendTokens needs at least one token');
      // The first token's checks are every token's (nothing runs between them), so they go in all or none.
      let seq: number | null = null;
      for (const token of tokens) {
        seq = add(jobId, token, fence);
        if (seq === null) return null;
      }
      if (counter) await counter.incrby(TOKENS_OUT_COUNTER, tokens.length);
      return seq;
    },
    async read(jobId, after, { count, blockMs }) {
      // Seqs run 1, 2, 3… without gaps, so seq n sits at index n - 1.
      const readNow = () => liveLog(jobId)?.events.slice(Math.max(0, after), Math.max(0, after) + count) ?? [];
      const events = readNow();
      if (events.length > 0 || blockMs <= 0) return events;
      await signals.wait(`log:${jobId}`, blockMs);
      return readNow();
    },
    async lastEvent(jobId) {
      return liveLog(jobId)?.events.at(-1) ?? null;
    },
  };

  const waiting: Record<QueuePriority, Array<Omit<Delivery, 'reclaimed'>>> = { high: [], normal: [], low: [] };
  const held = new Map<string, Held<Delivery>>();

  /** Items held longer than `minIdleMs` without a sign of life, handed to `consumer`. */
  function reclaimFrom<T>(holds: Map<string, Held<T>>, consumer: string, minIdleMs: number, max: number): T[] {
    const claimed: T[] = [];
    const now = Date.now();
    for (const hold of holds.values()) {
      if (claimed.length >= max) break;
      if (now - hold.lastActiveAt < minIdleMs) continue;
      hold.consumer = consumer;
      hold.lastActiveAt = now;
      claimed.push(hold.item);
    }
    return claimed;
  }

  const queue: JobQueue = {
    async submit(job) {
      if (liveLog(job.jobId)) throw new Error(`job ${job.jobId} has an event log already`);
      await log.append(job.jobId, { type: 'queued', at: job.enqueuedAt, userId: job.userId });
      await queue.enqueue(job);
    },
    async enqueue(job) {
      waiting[job.priority].push({ id: newId(), priority: job.priority, job });
      signals.notify('queue');
      if (counter) await counter.incr(JOBS_ENQUEUED_COUNTER);
    },
    async depth() {
      return QUEUE_PRIORITIES.reduce((sum, priority) => sum + waiting[priority].length, 0);
    },
    async take(consumer, { blockMs }) {
      const deadline = Date.now() + Math.min(blockMs, MAX_BLOCK_MS);
      for (;;) {
        for (const priority of QUEUE_PRIORITIES) {
          const next = waiting[priority].shift();
          if (next) {
            const delivery = { ...next, reclaimed: false };
            held.set(delivery.id, { item: delivery, consumer, lastActiveAt: Date.now() });
            return delivery;
          }
        }
        const left = deadline - Date.now();
        if (left <= 0 || closed) return null;
        await signals.wait('queue', left);
      }
    },
    async reclaim(consumer, minIdleMs, max = 10) {
      return reclaimFrom(held, consumer, minIdleMs, max).map((delivery) => {
        const reclaimed = { ...delivery, reclaimed: true };
        held.get(delivery.id)!.item = reclaimed;
        return reclaimed;
      });
    },
    async keepAlive(consumer, delivery) {
      const hold = held.get(delivery.id);
      if (hold?.consumer !== consumer) return false;
      hold.lastActiveAt = Date.now();
      return true;
    },
    async ack(consumer, delivery) {
      if (held.get(delivery.id)?.consumer !== consumer) return false;
      held.delete(delivery.id);
      return true;
    },
  };

  const lifecycle: LifecycleFeed = {
    async take(consumer, { count, blockMs }) {
      if (lifecycleWaiting.length === 0 && blockMs > 0 && !closed) await signals.wait('lifecycle', blockMs);
      const taken = lifecycleWaiting.splice(0, count);
      for (const entry of taken) lifecycleHeld.set(entry.id, { item: entry, consumer, lastActiveAt: Date.now() });
      return taken;
    },
    async reclaim(consumer, minIdleMs) {
      return reclaimFrom(lifecycleHeld, consumer, minIdleMs, 100);
    },
    async ack(ids) {
      for (const id of ids) lifecycleHeld.delete(id);
    },
  };

  let closed = false;
  return {
    log,
    queue,
    lifecycle,
    async close() {
      closed = true;
      clearInterval(sweeper);
      signals.notifyAll();
    },
  };
}
