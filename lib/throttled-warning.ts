import type { Logger } from './logger.js';

/** @default 10_000 // ms: one line per outage interval is enough to see it, not to flood. */
const INTERVAL_MS = 10_000;

/**
 * A warning for a failure that repeats on every request while a dependency is down: logged
 * at most once per `intervalMs`, with how many occurrences were not logged since.
 */
export function throttledWarning(logger: Logger, message: string, intervalMs = INTERVAL_MS): (error: unknown) => void {
  let lastAt = -Infinity;
  let unlogged = 0;
  return (error) => {
    const now = Date.now();
    if (now - lastAt < intervalMs) {
      unlogged += 1;
      return;
    }
    logger.warn({ err: error, unlogged }, message);
    lastAt = now;
    unlogged = 0;
  };
}
