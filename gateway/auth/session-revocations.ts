import { type CachedSessionState, cachedSessionState, type RevocationNotice } from '../../lib/auth/revocation.js';
import { createReadCache } from '../../lib/read-cache.js';
import type { Redis } from '../../lib/redis.js';
import { type UsersLookup, UsersLookupUnavailable } from './users-lookup.js';

const SESSION_REVOKED = /* GraphQL */ `query SessionRevoked($sessionId: ID!) { _sessionRevoked(sessionId: $sessionId) }`;

/** @default 100_000 // sessions whose live answer is kept (about 100 B each); beyond, the oldest go first. */
const MAX_LIVE_SESSIONS = 100_000;

/**
 * Whether an access token's session has been revoked. Redis' copy answers when it knows: the
 * session is in it, or it is marked complete (`lib/auth/revocation.ts`). When it is not
 * (Redis restarted and the users subgraph has not rebuilt it yet) the users subgraph answers
 * from PostgreSQL, the record, so an empty Redis never lets a revoked session back in.
 * Fail-closed: Redis unreachable throws (the request gets SERVICE_UNAVAILABLE), and so does
 * the users subgraph when it must answer and cannot (SUBGRAPH_UNAVAILABLE).
 *
 * A busy client sends its token many times a second, so Redis' "live" is kept for
 * `cacheMs` (SESSION_CHECK_CACHE_MS; no round trip on those requests), but only while revocation notices
 * are heard (`hearing`, from the pub/sub connection's state): a notice drops its sessions, and
 * an answer that was in flight during a notice of sessions is not kept. Unknown and revoked are not
 * kept: the first is rare, the second is refused anyway.
 */
export function createSessionRevocationCheck(deps: { redis: Redis; users: UsersLookup | null; cacheMs: number; nowMs?: () => number }) {
  const live = createReadCache<string, CachedSessionState>({ ttlMs: deps.cacheMs, max: MAX_LIVE_SESSIONS, nowMs: deps.nowMs });
  let hearing = false;

  async function ask(sessionId: string): Promise<boolean> {
    const cached = await live.read(sessionId, () => cachedSessionState(deps.redis, sessionId), (state) => state === 'live' && hearing);
    if (cached !== 'unknown') return cached === 'revoked';
    if (!deps.users) throw new UsersLookupUnavailable('no users subgraph to check the session with');
    return (await deps.users<{ _sessionRevoked: boolean }>(SESSION_REVOKED, { sessionId }))._sessionRevoked;
  }

  return {
    /** `false` at once for a session Redis called live within `cacheMs`; else asks. */
    isRevoked(sessionId: string): boolean | Promise<boolean> {
      return live.get(sessionId) === 'live' ? false : ask(sessionId);
    },
    /** A revocation notice (`auth:revocations`). */
    noticed(notice: RevocationNotice): void {
      for (const sessionId of notice.sessionIds ?? []) live.forget(sessionId);
    },
    /** Whether notices are heard now; while they are not, nothing is kept. */
    hearing(heard: boolean): void {
      hearing = heard;
      live.forget();
    },
  };
}

export type SessionRevocationCheck = ReturnType<typeof createSessionRevocationCheck>;
