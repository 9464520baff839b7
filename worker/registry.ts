import type { Clock } from '../lib/clock.js';
import type { Redis } from '../lib/redis.js';

/** Hash of live workers: field = worker id, value = JSON registration. */
export const WORKERS_KEY = 'workers';
const aliveKey = (workerId: string) => `workers:alive:${workerId}`;

export interface WorkerRegistration {
  id: string;
  backends: string[];
  models: string[];
  startedAt: string;
}

/**
 * Announces a worker in Redis and keeps the announcement fresh. A worker that stops
 * heartbeating drops out after three intervals (its `alive` key expires), so a crashed
 * worker is never counted as capacity for long.
 */
export function createWorkerRegistry(redis: Redis, clock: Clock) {
  return {
    async register(registration: Omit<WorkerRegistration, 'startedAt'>, heartbeatMs: number): Promise<WorkerRegistration> {
      const record = { ...registration, startedAt: clock.now().toISOString() };
      await this.heartbeat(record, heartbeatMs);
      return record;
    },
    /**
     * Refreshes the `alive` key and writes the registration again, so a Redis that lost its
     * data (restarted empty, failed over) lists the worker again at its next heartbeat.
     */
    async heartbeat(registration: WorkerRegistration, heartbeatMs: number): Promise<void> {
      await redis
        .multi()
        .hset(WORKERS_KEY, registration.id, JSON.stringify(registration))
        .set(aliveKey(registration.id), clock.now().toISOString(), 'PX', heartbeatMs * 3)
        .exec();
    },
    async deregister(workerId: string): Promise<void> {
      await redis.hdel(WORKERS_KEY, workerId);
      await redis.del(aliveKey(workerId));
    },
    /** Registrations whose heartbeat is current. */
    async liveWorkers(): Promise<WorkerRegistration[]> {
      const all = await redis.hgetall(WORKERS_KEY);
      const ids = Object.keys(all);
      if (ids.length === 0) return [];
      const alive = await redis.mget(ids.map(aliveKey));
      return ids.filter((_, i) => alive[i] !== null).map((id) => JSON.parse(all[id]!) as WorkerRegistration);
    },
  };
}
