import type { Redis } from '../redis.js';
import { MAX_BLOCK_MS } from './contract.js';

/** XREAD's reply: per stream (its prefixed key), the entries as [id, flat fields]. */
export type StreamReply = Array<[string, Array<[string, string[]]>]>;

interface Waiter {
  key: string;
  afterId: string;
  wake: () => void;
}

/**
 * @default 5_000 // ms each XREAD BLOCK of the shared loop waits before it is issued again,
 * well inside the connection's command timeout.
 */
const LOOP_BLOCK_MS = 5_000;

/**
 * Waits for new entries on many streams over ONE blocking connection: a single loop issues
 * `XREAD BLOCK` on every stream someone waits for and wakes the waiters of the streams that
 * got entries (they then read them on the shared client). A waiter that arrives while the
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

  /** Resolves when `key` (unprefixed) has an entry after `afterId`, or after `blockMs`. */
  async wait(key: string, afterId: string, blockMs: number): Promise<void> {
    if (this.#closed) return;
    const ms = Math.min(blockMs, MAX_BLOCK_MS);
    await new Promise<void>((resolve) => {
      const waiter: Waiter = { key: (this.#redis.options.keyPrefix ?? '') + key, afterId, wake: () => done() };
      const timer = setTimeout(() => done(), ms);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve();
      };
      this.#waiters.add(waiter);
      this.#generation++;
      this.#interrupt();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of [...this.#waiters]) waiter.wake();
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
        reply = (await client.xread('COUNT', 1, 'BLOCK', LOOP_BLOCK_MS, 'STREAMS', ...streams.keys(), ...streams.values())) as StreamReply | null;
      } catch {
        // Redis away or the connection dropped: wake everyone, they read (and fail) on the shared client.
        void this.#connection?.then(({ client }) => client.disconnect(), () => {});
        this.#connection = null;
        reply = [...streams.keys()].map((key) => [key, [['', []]]]);
      } finally {
        this.#blocked = false;
      }
      const ready = new Set((reply ?? []).map(([key]) => key));
      for (const waiter of [...this.#waiters]) if (ready.has(waiter.key)) waiter.wake();
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
