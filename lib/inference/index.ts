import type { Redis } from '../redis.js';
import type { InferenceBus, InferenceBusOptions } from './contract.js';
import { createInProcessInferenceBus } from './in-process-bus.js';
import { createRedisInferenceBus } from './redis-bus.js';

export * from './contract.js';

export interface CreateInferenceBusOptions extends InferenceBusOptions {
  /**
   * True when `redis` is the in-process stand-in (no REDIS_URL): the bus then lives in this
   * process's memory, and every service of the process must share the one bus object.
   */
  inProcess: boolean;
}

/** The bus on Redis, or in memory for a process that runs without a Redis server. */
export function createInferenceBus(redis: Redis, options: CreateInferenceBusOptions): InferenceBus {
  return options.inProcess ? createInProcessInferenceBus(redis, options) : createRedisInferenceBus(redis, options);
}
