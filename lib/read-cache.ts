import { performance } from 'node:perf_hooks';

import { setBounded } from './bounded-map.js';

/**
 * Answers read from a shared store (Redis), kept in the process for `ttlMs`, for reads whose
 * changes are announced (a pub/sub notice, a write of this process's own) rather than polled:
 * `forget` drops a key, or every key, at once, and an answer whose read was under way when
 * anything was forgotten is not kept, since it may predate the change. `ttlMs` bounds the
 * rest (a change whose announcement was lost); 0 keeps nothing. Past `max` keys the oldest go first.
 */
export function createReadCache<K, V>(options: { ttlMs: number; max: number; nowMs?: () => number }) {
  const nowMs = options.nowMs ?? (() => performance.now());
  const entries = new Map<K, { value: V; until: number }>();
  /** Moves with every `forget`: an answer read across one is not kept. */
  let generation = 0;
  return {
    /** The kept answer for `key`, or undefined (none, or older than `ttlMs`). */
    get(key: K): V | undefined {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (nowMs() < entry.until) return entry.value;
      entries.delete(key);
      return undefined;
    },
    /** Reads `key` with `read`, and keeps the answer when `keep` says so and nothing was forgotten meanwhile. */
    async read(key: K, read: () => Promise<V>, keep: (value: V) => boolean): Promise<V> {
      const readFrom = generation;
      const value = await read();
      if (options.ttlMs > 0 && readFrom === generation && keep(value)) setBounded(entries, key, { value, until: nowMs() + options.ttlMs }, options.max);
      return value;
    },
    /** Drops `key`'s answer, or every answer, and any read under way. */
    forget(key?: K): void {
      generation += 1;
      if (key === undefined) entries.clear();
      else entries.delete(key);
    },
  };
}
