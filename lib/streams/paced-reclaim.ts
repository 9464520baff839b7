import { performance } from 'node:perf_hooks';

/**
 * Paces the look for other consumers' idle entries (XAUTOCLAIM, which a busy consumer would
 * otherwise send every round): every round while a look finds some (a dead consumer's
 * backlog), else once `everyMs` has passed since a look found none. Returns `look`'s finds,
 * or none when no look is due.
 */
export function pacedReclaim(everyMs: number): <T>(look: () => Promise<T[]>) => Promise<T[]> {
  let foundNoneAt = Number.NEGATIVE_INFINITY;
  return async (look) => {
    if (performance.now() - foundNoneAt < everyMs) return [];
    const found = await look();
    if (found.length === 0) foundNoneAt = performance.now();
    return found;
  };
}
