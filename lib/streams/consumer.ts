import { randomUUID } from 'node:crypto';

import type { Logger } from '../logger.js';
import type { Redis } from '../redis.js';
import { throttledWarning } from '../throttled-warning.js';
import { pacedReclaim } from './paced-reclaim.js';

/** @default 100 // ms between reads of the in-process stand-in, which cannot block. */
const STAND_IN_POLL_MS = 100;

/** One stream entry: its id and its fields as a map. */
/**
 * Creates `group` on `stream` (and the stream, if missing) unless it exists. `startId` is where a
 * new group starts reading: `'0'` for every entry already there, `'$'` for only new ones. ioredis
 * does not apply its keyPrefix to XGROUP's key (it follows a subcommand), so it is prefixed here.
 */
export async function createConsumerGroup(redis: Redis, stream: string, group: string, startId: '0' | '$'): Promise<void> {
  try {
    await redis.xgroup('CREATE', `${redis.options.keyPrefix ?? ''}${stream}`, group, startId, 'MKSTREAM');
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error;
  }
}

export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

export interface StreamConsumerOptions {
  redis: Redis;
  stream: string;
  /** The consumer group; created at the stream's end (`$`) when missing, with the stream. */
  group: string;
  logger: Logger;
  /**
   * Handles a batch. Entries are acknowledged only after it resolves, so a process killed
   * meanwhile leaves them pending and they are handled again: `handle` must be idempotent.
   * A rejection is logged and the batch retried after `retryMs`.
   */
  handle(entries: StreamEntry[]): Promise<void>;
  /** @default 100 // entries per read */
  batchSize?: number;
  /** @default 2_000 // ms a read blocks; below the client's 5 s command timeout. */
  blockMs?: number;
  /** @default 1_000 // ms before retrying after a failure (Redis down, a handler error). */
  retryMs?: number;
  /** @default 60_000 // ms pending before another consumer's entries are claimed (it died). */
  claimIdleMs?: number;
}

/**
 * Consumes a Redis stream in a consumer group on a connection of its own (blocking reads
 * would hold up the shared client), at least once: entries another consumer left pending
 * longer than `claimIdleMs` (it crashed) are claimed with XAUTOCLAIM before new ones are read
 * (looked for again every round while some are found, else once per `blockMs`, as often as an
 * idle loop comes round anyway), and after a failed round this consumer's own pending entries
 * are read again before new ones until none is left. A busy stream then costs one blocking
 * read and one XACK per batch, not four commands. `stop()` ends the loop and closes the connection.
 */
export function startStreamConsumer(options: StreamConsumerOptions): { stop(): Promise<void> } {
  const { stream, group, logger } = options;
  const batchSize = options.batchSize ?? 100;
  const blockMs = options.blockMs ?? 2_000;
  const retryMs = options.retryMs ?? 1_000;
  const claimIdleMs = options.claimIdleMs ?? 60_000;
  const consumer = `${group}-${randomUUID()}`;
  const connection = options.redis.duplicate();
  connection.on('error', () => {});
  const warn = throttledWarning(logger, `stream consumer ${group} on ${stream}: retrying`);
  let stopped = false;
  let wake: (() => void) | null = null;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const reclaim = pacedReclaim(blockMs);
  /** This consumer may have entries pending: at start, and after a failed round, until a read of them comes back empty. */
  let ownPending = true;

  const ensureGroup = () => createConsumerGroup(connection, stream, group, '$');
  const handleBatch = async (raw: Array<[string, string[]]>) => {
    const entries = raw.filter(([, fields]) => fields).map(([id, fields]) => ({ id, fields: fieldsOf(fields) }));
    if (entries.length === 0) return;
    await options.handle(entries);
    await connection.xack(stream, group, ...entries.map((entry) => entry.id));
  };

  /**
   * Set when Redis is the in-process stand-in (`npm start` without REDIS_URL), which has no
   * consumer groups: one process, nothing to share or recover after a crash, so it reads with
   * XREAD from the entry after the last one handled, polling every STAND_IN_POLL_MS.
   */
  let readAfter: string | null = null;
  const readWithoutGroup = async () => {
    const read = (await connection.xread('COUNT', batchSize, 'STREAMS', stream, readAfter!)) as Array<[string, Array<[string, string[]]>]> | null;
    const raw = read?.[0]?.[1] ?? [];
    if (raw.length === 0) return pause(STAND_IN_POLL_MS);
    await options.handle(raw.map(([id, fields]) => ({ id, fields: fieldsOf(fields) })));
    readAfter = raw.at(-1)![0];
  };

  const loop = (async () => {
    let ready = false;
    while (!stopped) {
      try {
        if (!ready) {
          // A duplicate waits to be connected (lazyConnect), and queues nothing meanwhile.
          if (connection.status === 'wait') await connection.connect();
          try {
            await ensureGroup();
          } catch (error) {
            if (!/Unsupported command/.test(String(error))) throw error;
            readAfter = '0';
          }
          ready = true;
        }
        if (readAfter !== null) {
          await readWithoutGroup();
          continue;
        }
        const claimIdle = async () => ((await connection.xautoclaim(stream, group, consumer, claimIdleMs, '0', 'COUNT', batchSize)) as [string, Array<[string, string[]]>])[1] ?? [];
        await handleBatch(await reclaim(claimIdle));
        // Our own pending entries first (a failed batch), then new ones.
        if (ownPending) {
          const pending = (await connection.xreadgroup('GROUP', group, consumer, 'COUNT', batchSize, 'STREAMS', stream, '0')) as Array<[string, Array<[string, string[]]>]> | null;
          if (pending?.[0]?.[1]?.length) {
            await handleBatch(pending[0][1]);
            continue;
          }
          ownPending = false;
        }
        const fresh = (await connection.xreadgroup('GROUP', group, consumer, 'COUNT', batchSize, 'BLOCK', blockMs, 'STREAMS', stream, '>')) as Array<
          [string, Array<[string, string[]]>]
        > | null;
        if (fresh?.[0]) await handleBatch(fresh[0][1]);
      } catch (error) {
        if (stopped) break;
        ownPending = true;
        if (String(error).includes('NOGROUP')) ready = false;
        warn(error);
        await pause(retryMs);
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      wake?.();
      connection.disconnect();
      await loop;
    },
  };
}

function fieldsOf(flat: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fields;
}
