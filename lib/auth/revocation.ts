import type { Redis } from '../redis.js';

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
    },
    async isRevoked(sessionId: string): Promise<boolean> {
      return (await redis.exists(revokedSessionKey(sessionId))) === 1;
    },
  };
}

export type SessionRevocations = ReturnType<typeof createSessionRevocations>;

/**
 * The gateway caches API key lookups here briefly (by the SHA-256 of the key, never the key);
 * the users subgraph deletes the entry when the key is revoked so revocation is immediate.
 */
export const apiKeyCacheKey = (keyHash: string) => `auth:apikey:${keyHash}`;
