import { publishLive } from '../live/pubsub.js';
import type { Redis } from '../redis.js';

/**
 * Where revocations are announced, so gateways end the open subscriptions of a revoked
 * session or API key at once: JSON `{ sessionIds?: string[], apiKeyIds?: string[] }`.
 */
export const REVOCATIONS_CHANNEL = 'auth:revocations';
export interface RevocationNotice {
  sessionIds?: readonly string[];
  apiKeyIds?: readonly string[];
}

export async function announceRevocations(redis: Redis, notice: RevocationNotice): Promise<void> {
  await publishLive(redis, REVOCATIONS_CHANNEL, JSON.stringify(notice));
}

/**
 * Revoked sessions as the gateway checks them on every request: one sorted set whose members
 * are session ids, each scored with the time (ms) after which it no longer matters, its
 * revocation plus the access-token lifetime (every token of the session has expired by then).
 *
 * PostgreSQL is the record (the users subgraph's refresh-token rows, `revokedAt`); this set
 * is a copy Redis may lose (a restart without persistence, a failover, FLUSHALL). An empty
 * set must not read as "nothing is revoked", so the set carries one more member, `complete`
 * (score +inf), which the users subgraph adds only after copying in every revocation of the
 * last access-token lifetime from PostgreSQL. Set and marker are one key: whatever removes
 * the one (restart, eviction, deletion) removes the other.
 */
const REVOKED_SESSIONS_KEY = 'auth:revoked-sessions';
const COMPLETE = 'complete';
/** @default 1_000 // sessions per ZADD, so a large rebuild does not block Redis for long. */
const ZADD_CHUNK = 1_000;

/** `unknown`: not in the set, but the set is not known to be complete; ask PostgreSQL. */
export type CachedSessionState = 'revoked' | 'live' | 'unknown';

/** The gateway's read: one command (ZMSCORE), so the session and the marker are read together. */
export async function cachedSessionState(redis: Redis, sessionId: string): Promise<CachedSessionState> {
  const [session, complete] = await redis.zmscore(REVOKED_SESSIONS_KEY, sessionId, COMPLETE);
  if (session !== null) return 'revoked';
  return complete !== null ? 'live' : 'unknown';
}

export interface SessionRevocation {
  sessionId: string;
  /** When the last access token the session could have had expires. */
  until: Date;
}

/** The users subgraph's writes to the set. */
export function createRevokedSessionsCache(redis: Redis) {
  return {
    /** Adds revocations and drops those that no longer matter (never the marker: +inf). */
    async add(revocations: readonly SessionRevocation[], now: Date): Promise<void> {
      if (revocations.length === 0) return;
      const transaction = redis.multi();
      for (let i = 0; i < revocations.length; i += ZADD_CHUNK) {
        const chunk = revocations.slice(i, i + ZADD_CHUNK);
        transaction.zadd(REVOKED_SESSIONS_KEY, ...chunk.flatMap((r) => [r.until.getTime(), r.sessionId]));
      }
      await transaction.zremrangebyscore(REVOKED_SESSIONS_KEY, '-inf', now.getTime()).exec();
    },
    async markComplete(): Promise<void> {
      await redis.zadd(REVOKED_SESSIONS_KEY, '+inf', COMPLETE);
    },
    async forgetComplete(): Promise<void> {
      await redis.zrem(REVOKED_SESSIONS_KEY, COMPLETE);
    },
    async isComplete(): Promise<boolean> {
      return (await redis.zscore(REVOKED_SESSIONS_KEY, COMPLETE)) !== null;
    },
  };
}

export type RevokedSessionsCache = ReturnType<typeof createRevokedSessionsCache>;

/**
 * The gateway caches API key lookups here briefly (by the SHA-256 of the key, never the key).
 * Revoking a key overwrites the entry with a tombstone (UNKNOWN_API_KEY) that outlives any
 * cache entry, and the gateway only ever adds entries (SET NX), so a lookup that was in
 * flight during the revocation cannot put the key back. Losing the cache is safe: a miss
 * asks the users subgraph, which reads the key's `revokedAt` in PostgreSQL.
 */
export const apiKeyCacheKey = (keyHash: string) => `auth:apikey:${keyHash}`;
export const UNKNOWN_API_KEY = 'unknown';
/** @default 3_600 // s: longer than any sensible API_KEY_CACHE_SECONDS. */
export const API_KEY_TOMBSTONE_SECONDS = 3_600;

/** Tombstones revoked keys for what is left of `API_KEY_TOMBSTONE_SECONDS` since each revocation. */
export async function tombstoneApiKeys(redis: Redis, keys: readonly { keyHash: string; revokedAt: Date }[], now: Date): Promise<void> {
  if (keys.length === 0) return;
  const transaction = redis.multi();
  for (const key of keys) {
    const seconds = API_KEY_TOMBSTONE_SECONDS - Math.floor((now.getTime() - key.revokedAt.getTime()) / 1000);
    if (seconds > 0) transaction.set(apiKeyCacheKey(key.keyHash), UNKNOWN_API_KEY, 'EX', seconds);
  }
  await transaction.exec();
}
