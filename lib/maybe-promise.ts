/**
 * `next(value)` at once when `value` is there, after it settles when it is a promise. For the
 * request path's hooks that only sometimes wait (an anonymous caller, a budget lease): a
 * promise where nothing is awaited costs every request a microtask and the pipeline's wait on it.
 */
export function thenMaybe<T, R>(value: T | Promise<T>, next: (value: T) => R): R | Promise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}
