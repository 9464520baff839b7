/**
 * Sets `key` in `map` as its newest entry (a Map iterates in insertion order, so an entry set
 * again moves to the end) and, past `max` entries, drops the oldest: the one eviction rule of
 * the process-local caches, which bound what clients can make them hold.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value!);
}
