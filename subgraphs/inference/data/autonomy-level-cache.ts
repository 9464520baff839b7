import { readAutonomyMarker } from '../../../lib/autonomy/changes.js';
import { setBounded } from '../../../lib/bounded-map.js';
import type { Clock } from '../../../lib/clock.js';
import type { Redis } from '../../../lib/redis.js';
import type { AutonomyClient, EffectiveAutonomyLevel } from './autonomy-client.js';

interface Entry {
  level: EffectiveAutonomyLevel;
  /** The user's change marker read before the level was asked for (null: they had none). */
  marker: string | null;
  learnedAt: number;
}

/**
 * @default 10_000 // (user, context) pairs kept: a few hundred KB, and more users than submit
 * within one maximum age on one replica; the oldest learned goes first.
 */
const MAX_ENTRIES = 10_000;

/**
 * Effective autonomy levels, learned through the graph (`lookup`, an HTTP round trip to the
 * autonomy subgraph) once and reused while the user's change marker in Redis reads the same
 * (lib/autonomy/changes.ts), so a change applies to the next submission after `setAutonomy`
 * answered. One Redis GET per submission instead of the round trip. An entry is also dropped
 * after `maxAgeMs` (0: nothing is kept), which bounds a level's life should a change's marker
 * never reach Redis. Redis unreadable: the graph is asked and nothing is kept (fail closed
 * stays the lookup's: no level, no job).
 */
export function createAutonomyLevelCache(deps: { lookup: AutonomyClient; redis: Redis; clock: Clock; maxAgeMs: number }): AutonomyClient {
  const entries = new Map<string, Entry>();
  return {
    async effectiveLevel(userId, context) {
      if (deps.maxAgeMs === 0) return deps.lookup.effectiveLevel(userId, context);
      const marker = await readAutonomyMarker(deps.redis, userId).then(
        (value) => ({ value }),
        () => null,
      );
      if (!marker) return deps.lookup.effectiveLevel(userId, context);
      const key = `${userId}\n${context ?? ''}`;
      const now = deps.clock.now().getTime();
      const entry = entries.get(key);
      if (entry && entry.marker === marker.value && now - entry.learnedAt < deps.maxAgeMs) return entry.level;
      const level = await deps.lookup.effectiveLevel(userId, context);
      // Re-inserted, so the map's order is the order learned and the first key the oldest.
      setBounded(entries, key, { level, marker: marker.value, learnedAt: now }, MAX_ENTRIES);
      return level;
    },
  };
}
