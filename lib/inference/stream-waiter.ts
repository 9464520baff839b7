import type { Redis } from '../redis.js';
import { MAX_BLOCK_MS } from './contract.js';

/** One stream entry: [id, flat fields]. */
export type StreamEntry = [id: string, fields: string[]];

/** XREAD's reply: per stream (its prefixed key), the entries. */
export type StreamReply = Array<[string, StreamEntry[]]>;

interface Waiter {
  key: string;
  afterId: string;
  wake: (entries: StreamEntry[] | null) => void;
}

/**
 * @default 5_000 // ms each XREAD BLOCK of the shared loop waits before it is issued again,
 * well inside the connection's command timeout.
 */
const LOOP_BLOCK_MS = 5_000;

/**
 * @default 100 // entries per stream the loop's XREAD answers with: a waiter gets the ones
 * after its position with its wake-up, so it need not read them again.
 */
const WAKE_COUNT = 100;

/**
 * Waits for new entries on many streams over ONE blocking connection: a single loop issues
 * `XREAD BLOCK` on every stream someone waits for and wakes the waiters of the streams that
 * got entries, each with those after its own position. A waiter that arrives while the
 * loop is blocked interrupts it (`CLIENT UNBLOCK` from the shared client) so the loop blocks
 * again with its stream included; a thousand readers cost one connection, not a thousand.
 */
export class StreamWaiter {
  readonly #redis: Redis;
  readonly #waiters = new Set<Waiter>();
  #connection: Promise<{ client: Redis; id: number }> | null = null;
  #loop: Promise<void> | null = null;
  /** Bumped whenever a waiter arrives; the loop's XREAD covers generation `#covered`. */
  #generation = 0;
  #covered = -1;
  #blocked = false;
  #closed = false;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  /**
   * Resolves when `key` (unprefixed) has an entry after `afterId`, with the first of those
   * entries (in order, from the one right after `afterId`; empty when the wake-up carried none
   * of them), or with null after `blockMs`, at `close()`, or when the loop could not read
   * (the caller then reads for itself, and learns why).
   */
  async wait(key: string, afterId: string, blockMs: number): Promise<StreamEntry[] | null> {
    if (this.#closed) return null;
    const ms = Math.min(blockMs, MAX_BLOCK_MS);
    return new Promise<StreamEntry[] | null>((resolve) => {
      const waiter: Waiter = { key: (this.#redis.options.keyPrefix ?? '') + key, afterId, wake: (entries) => done(entries) };
      const timer = setTimeout(() => done(null), ms);
      const done = (entries: StreamEntry[] | null) => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve(entries);
      };
      this.#waiters.add(waiter);
      this.#generation++;
      this.#interrupt();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of [...this.#waiters]) waiter.wake(null);
    const connection = this.#connection;
    this.#connection = null;
    if (connection) (await connection.catch(() => null))?.client.disconnect();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (this.#waiters.size > 0 && !this.#closed) {
      const streams = new Map<string, string>();
      for (const waiter of this.#waiters) {
        const known = streams.get(waiter.key);
        if (known === undefined || compareIds(waiter.afterId, known) < 0) streams.set(waiter.key, waiter.afterId);
      }
      this.#covered = this.#generation;
      let reply: StreamReply | null;
      try {
        const { client } = await this.#connect();
        this.#blocked = true;
        // Keys are already prefixed: this connection has none of its own.
        reply = (await client.xread('COUNT', WAKE_COUNT, 'BLOCK', LOOP_BLOCK_MS, 'STREAMS', ...streams.keys(), ...streams.values())) as StreamReply | null;
      } catch {
        // Redis away or the connection dropped: wake everyone, they read (and fail) on the shared client.
        void this.#connection?.then(({ client }) => client.disconnect(), () => {});
        this.#connection = null;
        for (const waiter of [...this.#waiters]) if (streams.has(waiter.key)) waiter.wake(null);
        continue;
      } finally {
        this.#blocked = false;
      }
      // Per stream, the entries after the oldest position waited for: for each waiter, those
      // after its own position are the next ones it has not seen, in order.
      const ready = new Map(reply ?? []);
      for (const waiter of [...this.#waiters]) {
        const entries = ready.get(waiter.key);
        if (entries) waiter.wake(entries.filter(([id]) => compareIds(id, waiter.afterId) > 0));
      }
    }
  }

  #connect(): Promise<{ client: Redis; id: number }> {
    this.#connection ??= (async () => {
      const client = this.#redis.duplicate({ keyPrefix: '', lazyConnect: true, commandTimeout: LOOP_BLOCK_MS + 5_000 });
      client.on('error', () => {});
      await client.connect();
      return { client, id: await client.client('ID') };
    })();
    return this.#connection;
  }

  /**
   * Starts the loop, or makes a blocked one start over with the new waiter's stream, retrying
   * until it has (a loop that was just ending when the waiter came is started anew).
   */
  #interrupt(): void {
    if (this.#closed || this.#waiters.size === 0) return;
    if (!this.#loop) {
      this.#loop = this.#run().finally(() => {
        this.#loop = null;
        this.#interrupt();
      });
      return;
    }
    if (this.#covered === this.#generation) return;
    const connection = this.#connection;
    if (!this.#blocked || !connection) {
      setImmediate(() => this.#interrupt());
      return;
    }
    void connection
      .then(({ id }) => this.#redis.client('UNBLOCK', id))
      .then((unblocked) => {
        // 0: the XREAD had not reached Redis yet; try again until it has been interrupted.
        if (unblocked === 0) setTimeout(() => this.#interrupt(), 1);
      })
      .catch(() => {});
  }
}

/** Orders stream ids `<ms>-<n>`. */
export function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bMs, bSeq] = b.split('-').map(BigInt) as [bigint, bigint];
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}
