/**
 * Starts `step` now and answers a function that awaits it later. Reads that do not depend on
 * each other run together (the caller waits for the slowest, not for their sum), yet are
 * checked one after another, so the first failing check decides the answer as if they had run
 * in turn. A step whose turn never comes (an earlier check failed) is dropped, its rejection
 * with it.
 */
export function early<T>(step: () => Promise<T>): () => Promise<T> {
  const promise = step();
  promise.catch(() => {});
  return () => promise;
}
