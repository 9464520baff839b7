import {
  announceRevocations,
  API_KEY_TOMBSTONE_SECONDS,
  createRevokedSessionsCache,
  tombstoneApiKeys,
} from '../../../lib/auth/revocation.js';
import type { Clock } from '../../../lib/clock.js';
import { isUuid } from '../../../lib/ids.js';
import type { Logger } from '../../../lib/logger.js';
import type { Redis } from '../../../lib/redis.js';
import type { UsersStore } from '../data/store.js';

/** @default 5_000 // ms between checks that the gateway's revocation cache is still complete. */
const CHECK_INTERVAL_MS = 5_000;

/**
 * Keeps the gateway's Redis copy of revocations (revoked sessions, API key tombstones) in
 * step with PostgreSQL, the record. Every revocation is committed to PostgreSQL first and
 * then copied to Redis; a copy that fails (Redis down) does not fail the revocation, it
 * makes the cache suspect. The cache is rebuilt from PostgreSQL (every session revoked
 * within the access-token lifetime, every key revoked within the tombstone lifetime), then
 * marked complete, whenever it is not complete (Redis restarted or lost the set: checked at
 * start, when the connection becomes ready again and every `CHECK_INTERVAL_MS`) or a copy
 * failed since the last rebuild. Until then the gateway asks this subgraph (`isRevoked`).
 */
export function createRevocationCache(deps: {
  store: UsersStore;
  redis: Redis;
  clock: Clock;
  logger: Logger;
  accessTokenTtlSeconds: number;
}) {
  const { store, redis, clock, logger } = deps;
  const sessions = createRevokedSessionsCache(redis);
  const lifetimeMs = deps.accessTokenTtlSeconds * 1000;
  /** Copies that failed so far; a rebuild during which this grows may have missed one. */
  let failedCopies = 0;
  /** A copy failed and no rebuild has finished since: the cache may lack a revocation. */
  let suspect = false;
  let running: Promise<void> | null = null;
  let timer: NodeJS.Timeout | undefined;

  const copyFailed = (error: unknown, what: string) => {
    failedCopies += 1;
    suspect = true;
    logger.warn({ err: error }, `${what} not copied to Redis; the revocation cache will be rebuilt from PostgreSQL`);
    // Best effort: while Redis answers nothing this fails too, and the rebuild does it first.
    sessions.forgetComplete().catch(() => {});
    void ensureComplete();
  };

  async function rebuild(): Promise<void> {
    for (;;) {
      const failedBefore = failedCopies;
      if (suspect) await sessions.forgetComplete();
      const now = clock.now();
      const families = await store.refreshTokens.revokedFamiliesSince(new Date(now.getTime() - lifetimeMs));
      const keys = await store.apiKeys.revokedSince(new Date(now.getTime() - API_KEY_TOMBSTONE_SECONDS * 1000));
      await sessions.add(
        families.map((f) => ({ sessionId: f.familyId, until: new Date(f.revokedAt.getTime() + lifetimeMs) })),
        now,
      );
      await tombstoneApiKeys(redis, keys, now);
      await sessions.markComplete();
      // Subscriptions of these may have missed their notice while Redis was away.
      await announceRevocations(redis, { sessionIds: families.map((f) => f.familyId), apiKeyIds: keys.map((k) => k.id) });
      if (failedCopies === failedBefore) {
        suspect = false;
        logger.info({ sessions: families.length, apiKeys: keys.length }, 'revocation cache rebuilt from PostgreSQL');
        return;
      }
    }
  }

  /** Rebuilds the cache if it is not complete or suspect; one run at a time, never throws. */
  function ensureComplete(): Promise<void> {
    running ??= (async () => {
      try {
        if (suspect || !(await sessions.isComplete())) await rebuild();
      } catch (error) {
        logger.warn({ err: error }, 'revocation cache not rebuilt; retrying later');
      } finally {
        running = null;
      }
    })();
    return running;
  }

  const onReady = () => void ensureComplete();

  return {
    /** After the sessions' revocation is committed in PostgreSQL. Never throws. */
    async sessionsRevoked(sessionIds: readonly string[], at: Date): Promise<void> {
      if (sessionIds.length === 0) return;
      try {
        await sessions.add(sessionIds.map((sessionId) => ({ sessionId, until: new Date(at.getTime() + lifetimeMs) })), clock.now());
        await announceRevocations(redis, { sessionIds });
      } catch (error) {
        copyFailed(error, 'session revocation');
      }
    },

    /** After the key's revocation is committed in PostgreSQL. Never throws. */
    async apiKeyRevoked(key: { id: string; keyHash: string; revokedAt: Date }): Promise<void> {
      try {
        await tombstoneApiKeys(redis, [key], clock.now());
        await announceRevocations(redis, { apiKeyIds: [key.id] });
      } catch (error) {
        copyFailed(error, 'API key revocation');
      }
    },

    /** Whether the record says the session is revoked; also prompts a rebuild the gateway is waiting for. */
    async isRevoked(sessionId: string): Promise<boolean> {
      void ensureComplete();
      // Session ids are UUIDs the users subgraph chose; nothing else was ever revoked.
      return isUuid(sessionId) && store.refreshTokens.isFamilyRevoked(sessionId);
    },

    ensureComplete,

    /** Checks now, whenever the Redis connection is ready again, and periodically. */
    start(): void {
      if (timer) return;
      redis.on('ready', onReady);
      timer = setInterval(onReady, CHECK_INTERVAL_MS);
      timer.unref();
      onReady();
    },

    async stop(): Promise<void> {
      clearInterval(timer);
      timer = undefined;
      redis.off('ready', onReady);
      await running;
    },
  };
}

export type RevocationCache = ReturnType<typeof createRevocationCache>;
