import { randomUUID } from 'node:crypto';

import type { Redis } from '../redis.js';

/**
 * The contract between the autonomy subgraph and those that cache a user's effective levels
 * (the inference subgraph asks for one before every job): a per-user change marker in Redis.
 *
 * 1. After every change of a user's settings is committed, the autonomy subgraph sets the
 *    user's marker to a new random value (`announceAutonomyChange`), before it answers.
 * 2. A cache keeps each level it learned through the graph together with the marker it read
 *    *before* asking (`readAutonomyMarker`; null while the user has none) and uses it only while
 *    the marker still reads the same, so a change is in force for the next job submitted after
 *    the mutation answered. Random values, not a counter: a marker Redis lost and set again
 *    can never repeat an old value a cache holds.
 *
 * The marker carries no level: the levels stay the autonomy subgraph's, learned through the graph.
 */

export const autonomyMarkerKey = (userId: string) => `autonomy:marker:${userId}`;

/**
 * @default 30 days // a marker outlives any cache entry by far (caches bound an entry's age far
 * below this); one that expired reads null, which matches no entry stored under a value.
 */
export const AUTONOMY_MARKER_TTL_SECONDS = 30 * 24 * 3_600;

export async function announceAutonomyChange(redis: Redis, userId: string): Promise<void> {
  await redis.set(autonomyMarkerKey(userId), randomUUID(), 'EX', AUTONOMY_MARKER_TTL_SECONDS);
}

/** The user's current marker, or null when they have none; rejects when Redis does not answer. */
export async function readAutonomyMarker(redis: Redis, userId: string): Promise<string | null> {
  return redis.get(autonomyMarkerKey(userId));
}
