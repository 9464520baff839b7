/**
 * An async iterator fed by `push()`: the bridge between callback sources (Redis messages,
 * timers) and a GraphQL subscription. One consumer; values are delivered in push order.
 *
 * `return()` (what graphql-js calls when a client unsubscribes or disconnects) ends the
 * iteration at once, even while a `next()` is waiting, drops what is buffered and runs
 * `onEnd` exactly once, so the source can release what it holds. A plain async generator
 * could not do this: its `return()` waits until the generator reaches its next `yield`.
 */
export interface EventQueue<T> extends AsyncIterableIterator<T> {
  /** Delivers a value; ignored after the end. */
  push(value: T): void;
  /** Ends the iteration after what is buffered, or, with `error`, rejects the next `next()` once. */
  end(error?: unknown): void;
  readonly ended: boolean;
  /** Values waiting for the consumer. */
  readonly buffered: number;
}

export interface EventQueueOptions<T> {
  /**
   * @default 1_000 // values a slow consumer may fall behind before the oldest are dropped:
   * a live view wants recent values, and memory must stay bounded whatever the client does.
   */
  maxBuffered?: number;
  /** Called with each value dropped because the buffer was full. */
  onDrop?: (value: T) => void;
  /** Called once when the iteration ends, whichever way; `return()` waits for it. */
  onEnd?: () => void | Promise<void>;
}

export function createEventQueue<T>(options: EventQueueOptions<T> = {}): EventQueue<T> {
  const maxBuffered = options.maxBuffered ?? 1_000;
  const buffer: T[] = [];
  const waiting: Array<{ resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void }> = [];
  let ended = false;
  let failure: { error: unknown } | null = null;
  let cleanup: Promise<void> | null = null;
  const done = (): IteratorResult<T> => ({ value: undefined, done: true });

  const finish = (error?: unknown) => {
    if (ended) return;
    ended = true;
    if (error !== undefined) failure = { error };
    cleanup = Promise.resolve()
      .then(() => options.onEnd?.())
      .catch(() => {});
    // Waiting consumers mean an empty buffer: they get the error or the end now.
    for (const consumer of waiting.splice(0)) {
      if (failure) {
        consumer.reject(failure.error);
        failure = null;
      } else {
        consumer.resolve(done());
      }
    }
  };

  const queue: EventQueue<T> = {
    push(value) {
      if (ended) return;
      const consumer = waiting.shift();
      if (consumer) {
        consumer.resolve({ value, done: false });
        return;
      }
      buffer.push(value);
      if (buffer.length > maxBuffered) options.onDrop?.(buffer.shift()!);
    },
    end: finish,
    get ended() {
      return ended;
    },
    get buffered() {
      return buffer.length;
    },
    next() {
      if (buffer.length > 0) return Promise.resolve({ value: buffer.shift()!, done: false });
      if (failure) {
        const { error } = failure;
        failure = null;
        return Promise.reject(error);
      }
      if (ended) return Promise.resolve(done());
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    async return() {
      buffer.length = 0;
      failure = null;
      finish();
      await cleanup;
      return done();
    },
    async throw(error?: unknown) {
      buffer.length = 0;
      finish();
      failure = null;
      await cleanup;
      throw error;
    },
    [Symbol.asyncIterator]() {
      return queue;
    },
  };
  return queue;
}
