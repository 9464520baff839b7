import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';

import { AUTONOMY_ACTIONS_GROUP, AUTONOMY_ACTIONS_STREAM, parseProposedAction, type ProposedAction } from '../../../lib/autonomy/actions.js';
import type { Logger } from '../../../lib/logger.js';
import type { Redis } from '../../../lib/redis.js';
import { createConsumerGroup } from '../../../lib/streams/consumer.js';
import { throttledWarning } from '../../../lib/throttled-warning.js';

/** @default 1_000 // ms an XREADGROUP waits for proposals: well under the client's 5 s command timeout. */
const BLOCK_MS = 1_000;
/** @default 50 // entries per read. */
const BATCH = 50;
/**
 * @default 30_000 // ms: an entry delivered that long ago and not acknowledged (its consumer
 * died, or handling it failed) is claimed and handled again.
 */
const CLAIM_IDLE_MS = 30_000;
/** @default 1_000 // ms between attempts while Redis or PostgreSQL fails. */
const RETRY_MS = 1_000;

type Entry = [id: string, fields: string[]];

export interface ProposalConsumerOptions {
  redis: Redis;
  logger: Logger;
  /** Records one proposal; must be idempotent (an entry is delivered again when acknowledging it failed). */
  receive: (action: ProposedAction) => Promise<void>;
  /** Runs after each read (the desk republishes decisions that could not be published). */
  afterRead: () => Promise<void>;
  /** Overrides CLAIM_IDLE_MS (tests). */
  claimIdleMs?: number;
}

/**
 * Consumes AUTONOMY_ACTIONS_STREAM in the consumer group AUTONOMY_ACTIONS_GROUP on a
 * connection of its own (XREADGROUP BLOCK holds it): reads new entries, claims entries other
 * consumers left unacknowledged for CLAIM_IDLE_MS, hands each proposal to `receive` and
 * acknowledges it after. An entry that is not a valid proposal is logged and acknowledged.
 * Failures (Redis or PostgreSQL down) are logged at most once per 10 s and retried. The
 * in-process Redis stand-in of `npm start` has no consumer groups: the consumer then logs
 * that once and does nothing.
 */
export function startProposalConsumer(options: ProposalConsumerOptions): { stop(): Promise<void> } {
  const { logger } = options;
  const connection = options.redis.duplicate();
  connection.on('error', () => {});
  const consumer = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const claimIdleMs = options.claimIdleMs ?? CLAIM_IDLE_MS;
  const warn = throttledWarning(logger, 'autonomy: cannot consume proposed actions; retrying');
  const stopping = new AbortController();
  let groupReady = false;

  async function ensureGroup(): Promise<void> {
    if (groupReady) return;
    // From the start of the stream: proposals appended before the group existed count too.
    await createConsumerGroup(connection, AUTONOMY_ACTIONS_STREAM, AUTONOMY_ACTIONS_GROUP, '0');
    groupReady = true;
  }

  async function handle(entries: Entry[]): Promise<void> {
    for (const [id, fields] of entries) {
      const parsed = parseProposedAction(fields);
      if ('error' in parsed) logger.warn({ entryId: id, problem: parsed.error }, 'autonomy: dropped an invalid proposed action');
      else await options.receive(parsed.action);
      await connection.xack(AUTONOMY_ACTIONS_STREAM, AUTONOMY_ACTIONS_GROUP, id);
    }
  }

  async function readOnce(): Promise<void> {
    // Not connected yet, or a first connect failed: ioredis reconnects only a client that once was.
    if (connection.status === 'wait' || connection.status === 'end') await connection.connect();
    await ensureGroup();
    const [, claimed] = (await connection.xautoclaim(AUTONOMY_ACTIONS_STREAM, AUTONOMY_ACTIONS_GROUP, consumer, claimIdleMs, '0', 'COUNT', BATCH)) as [string, Entry[]];
    await handle(claimed);
    const read = (await connection.xreadgroup(
      'GROUP', AUTONOMY_ACTIONS_GROUP, consumer, 'COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', AUTONOMY_ACTIONS_STREAM, '>',
    )) as Array<[stream: string, entries: Entry[]]> | null;
    await handle(read?.[0]?.[1] ?? []);
    await options.afterRead();
  }

  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        await readOnce();
      } catch (error) {
        if (stopping.signal.aborted) return;
        if (error instanceof Error && error.message.startsWith('Unsupported command')) {
          logger.warn('autonomy: this Redis has no consumer groups (the in-process stand-in): proposed actions are not consumed; set REDIS_URL');
          return;
        }
        // The stream or group vanished (Redis restarted empty, or flushed): create them again.
        if (error instanceof Error && error.message.startsWith('NOGROUP')) groupReady = false;
        warn(error);
        await delay(RETRY_MS, undefined, { signal: stopping.signal }).catch(() => {});
      }
    }
  })();

  return {
    async stop() {
      stopping.abort();
      connection.disconnect();
      await loop;
    },
  };
}
