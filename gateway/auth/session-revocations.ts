import { cachedSessionState } from '../../lib/auth/revocation.js';
import type { Redis } from '../../lib/redis.js';
import { type UsersLookup, UsersLookupUnavailable } from './users-lookup.js';

const SESSION_REVOKED = /* GraphQL */ `query SessionRevoked($sessionId: ID!) { _sessionRevoked(sessionId: $sessionId) }`;

/**
 * Whether an access token's session has been revoked. Redis' copy answers when it knows: the
 * session is in it, or it is marked complete (`lib/auth/revocation.ts`). When it is not
 * (Redis restarted and the users subgraph has not rebuilt it yet) the users subgraph answers
 * from PostgreSQL, the record, so an empty Redis never lets a revoked session back in.
 * Fail-closed: Redis unreachable throws (the request gets SERVICE_UNAVAILABLE), and so does
 * the users subgraph when it must answer and cannot (SUBGRAPH_UNAVAILABLE).
 */
export function createSessionRevocationCheck(deps: { redis: Redis; users: UsersLookup | null }) {
  return {
    async isRevoked(sessionId: string): Promise<boolean> {
      const cached = await cachedSessionState(deps.redis, sessionId);
      if (cached !== 'unknown') return cached === 'revoked';
      if (!deps.users) throw new UsersLookupUnavailable('no users subgraph to check the session with');
      return (await deps.users<{ _sessionRevoked: boolean }>(SESSION_REVOKED, { sessionId }))._sessionRevoked;
    },
  };
}

export type SessionRevocationCheck = ReturnType<typeof createSessionRevocationCheck>;
