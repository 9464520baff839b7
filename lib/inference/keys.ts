import type { QueuePriority } from './contract.js';

/**
 * Redis names of the inference bus. Keys go through the client's `keyPrefix` like every other
 * key (the Lua scripts get them as KEYS, so they are prefixed too).
 */

/** One job's numbered events; entry ids are `<seq>-0`, so `XREAD … <after>-0` answers seq > after. */
export const jobEventsKey = (jobId: string) => `inference:job:${jobId}:events`;

/** `started` and terminal events of every job, for the inference subgraph. */
export const LIFECYCLE_STREAM = 'inference:lifecycle';
export const LIFECYCLE_GROUP = 'inference-subgraph';

/** One queue per priority, read by the workers in one consumer group. */
export const queueKey = (priority: QueuePriority) => `inference:queue:${priority}`;
export const QUEUE_GROUP = 'inference-workers';
