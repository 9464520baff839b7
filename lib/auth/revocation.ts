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

/**
 * Revoked sessions, shared by the users subgraph (which revokes) and the gateway (which
 * checks on every request). A key lives as long as the longest access token that could
 * still carry the session, after which the token has expired anyway.
 */
const revokedSessionKey = (sessionId: string) => `auth:revoked-session:${sessionId}`;

export function createSessionRevocations(redis: Redis, accessTokenLifetimeSeconds: number) {
  return {
    async revoke(sessionIds: readonly string[]): Promise<void> {
      if (sessionIds.length === 0) return;
      const pipeline = redis.multi();
      for (const id of sessionIds) pipeline.set(revokedSessionKey(id), '1', 'EX', accessTokenLifetimeSeconds);
      await pipeline.exec();
      await publishLive(redis, REVOCATIONS_CHANNEL, JSON.stringify({ sessionIds } satisfies RevocationNotice));
    },
    async isRevoked(sessionId: string): Promise<boolean> {
      return (await redis.exists(revokedSessionKey(sessionId))) === 1;
    },
  };
}

export type SessionRevocations = ReturnType<typeof createSessionRevocations>;

/**
 * The gateway caches API key lookups here briefly (by the SHA-256 of the key, never the key).
 * Revoking a key overwrites the entry with a tombstone (UNKNOWN_API_KEY) that outlives any
 * cache entry, and the gateway only ever adds entries (SET NX), so a lookup that was in
 * flight during the revocation cannot put the key back.
 */
export const apiKeyCacheKey = (keyHash: string) => `auth:apikey:${keyHash}`;
export const UNKNOWN_API_KEY = 'unknown';
/** @default 3_600 // s: longer than any sensible API_KEY_CACHE_SECONDS. */
export const API_KEY_TOMBSTONE_SECONDS = 3_600;

export async function tombstoneApiKey(redis: Redis, key: { id: string; keyHash: string }): Promise<void> {
  await redis.set(apiKeyCacheKey(key.keyHash), UNKNOWN_API_KEY, 'EX', API_KEY_TOMBSTONE_SECONDS);
  await publishLive(redis, REVOCATIONS_CHANNEL, JSON.stringify({ apiKeyIds: [key.id] } satisfies RevocationNotice));
}
