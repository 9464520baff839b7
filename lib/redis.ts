import { Redis, ReplyError } from 'ioredis';
import type RedisMock from 'ioredis-mock';

import { coalesceRedisWrites } from './redis-write-coalescing.js';

export type { Redis };

export interface RedisOptions {
  /** `redis://…` for a real server; unset for the in-process stand-in. */
  url?: string | undefined;
  /** Prefix for every key this client touches, so tests and tenants never collide. */
  keyPrefix: string;
  /**
   * Send the commands written in one event-loop turn in one syscall (lib/redis-write-coalescing.ts),
   * for a client that many concurrent requests share. @default false
   */
  coalesceWrites?: boolean | undefined;
}

/**
 * @default 5_000 // ms: a command that Redis has not answered by then fails (a hung server
 * or a black-holed connection must not hold requests until TCP gives up). The platform
 * issues no blocking commands; Redis answers in well under a millisecond, but a process
 * starved of CPU reads an answer late and would call it a timeout, hence seconds.
 */
const COMMAND_TIMEOUT_MS = 5_000;

/**
 * The stand-in's class, loaded by the first `connectRedis` without a URL: a process with a
 * Redis server never loads ioredis-mock and the Lua interpreter under it (about 4 MB of RSS).
 */
let standIn: typeof RedisMock | undefined;

/**
 * Connects to Redis and pings it, failing fast: a request never waits in an offline queue
 * (`enableOfflineQueue: false`), gives up after one retry while the server is gone and
 * after `COMMAND_TIMEOUT_MS` when it does not answer. The client reconnects on its own
 * (ioredis' default backoff, at most 2 s apart) and emits `ready` each time it is back.
 * Without a URL it returns an in-process stand-in (ioredis-mock) whose data every client in
 * this process shares, which covers the operations the platform uses at this stage.
 */
export async function connectRedis(options: RedisOptions): Promise<Redis> {
  if (!options.url) {
    standIn ??= (await import('ioredis-mock')).default;
    return new standIn({ keyPrefix: options.keyPrefix }) as unknown as Redis;
  }
  const redis = new Redis(options.url, {
    keyPrefix: options.keyPrefix,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    commandTimeout: COMMAND_TIMEOUT_MS,
  });
  // Connection errors surface on the commands that hit them; the client reconnects on its own.
  redis.on('error', () => {});
  if (options.coalesceWrites) coalesceRedisWrites(redis);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new Error(`cannot reach Redis at ${redactUrl(options.url)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return redis;
}

/** Whether `redis` is the in-process stand-in (no URL): it lacks some commands, consumer groups among them. */
export const isInProcessStandIn = (redis: Redis): boolean => standIn !== undefined && redis instanceof standIn;

/**
 * The messages ioredis rejects a command with when it got no answer: not connected (and no
 * offline queue), connection lost mid-command, retries used up, or `commandTimeout`.
 * An error reply from the server (`ReplyError`) is not among them: Redis answered.
 */
const UNANSWERED = ["Stream isn't writeable", 'Connection is closed.', 'Command timed out', 'Reached the max retries per request limit'];

/**
 * Whether `error` means Redis could not be asked right now (down, unreachable, too slow),
 * so the caller can answer SERVICE_UNAVAILABLE (retry later) instead of an internal error.
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof ReplyError) return false;
  return error.name === 'MaxRetriesPerRequestError' || UNANSWERED.some((start) => error.message.startsWith(start));
}

/** A connection URL without its password, safe to log. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * Deletes every key starting with `prefix` (SCAN, not KEYS, so a large Redis is not blocked),
 * through a connection of its own without a key prefix. For tests and benchmarks cleaning
 * up the namespace they ran in.
 */
export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 5_000, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
