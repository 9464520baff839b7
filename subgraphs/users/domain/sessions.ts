import { randomUUID } from 'node:crypto';

import type { AccessTokenIssuer } from '../../../lib/auth/access-token.js';
import type { Clock } from '../../../lib/clock.js';
import { unauthenticated } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/logger.js';
import type { UsersRepositories, UsersStore } from '../data/store.js';
import type { UserRecord } from '../data/users-repository.js';
import { BEARER_SECRET_PATTERN, newBearerSecret, sha256Hex } from './bearer-secrets.js';
import type { RevocationCache } from './revocation-cache.js';
import { effectiveScopes } from './scopes.js';

/** What a sign-in, refresh or password change returns. */
export interface AuthPayload {
  user: UserRecord;
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
}

const REFRESH_TOKEN_PATTERN = new RegExp(`^rt_${BEARER_SECRET_PATTERN}$`);

/** The hash a refresh token is stored under, or null for a string that cannot be one. */
const refreshTokenHash = (token: string) => (REFRESH_TOKEN_PATTERN.test(token) ? sha256Hex(token) : null);

/** Unknown, expired, revoked and reused tokens fail alike, so the error tells an attacker nothing. */
const invalidRefreshToken = () => unauthenticated('Invalid or expired refresh token');

/**
 * Sessions: one refresh-token family per sign-in. Each refresh token works once and is
 * replaced by the next of its family (rotation); a used token presented again means two
 * parties hold the family, so the whole family ends, its refresh tokens in the database and
 * its access tokens at the gateway (keyed by family id = the tokens' `sid`). PostgreSQL
 * (`revokedAt`) is the record of a revocation; the gateway's Redis copy follows it
 * (`revocation-cache.ts`), so losing Redis cannot bring a revoked session back.
 */
export function createSessions(deps: {
  store: UsersStore;
  accessTokens: AccessTokenIssuer;
  revocations: Pick<RevocationCache, 'sessionsRevoked'>;
  clock: Clock;
  refreshTokenTtlSeconds: number;
  logger: Logger;
}) {
  const { store, clock, logger } = deps;

  async function issue(user: UserRecord, familyId: string, saveRefreshToken: (row: { tokenHash: string; expiresAt: Date }) => Promise<void>): Promise<AuthPayload> {
    const refreshToken = `rt_${newBearerSecret()}`;
    const refreshTokenExpiresAt = new Date(clock.now().getTime() + deps.refreshTokenTtlSeconds * 1000);
    await saveRefreshToken({ tokenHash: sha256Hex(refreshToken), expiresAt: refreshTokenExpiresAt });
    const access = await deps.accessTokens.issue({
      userId: user.id,
      roles: user.roles,
      scopes: effectiveScopes(user),
      plan: user.planTier,
      sessionId: familyId,
    });
    return { user, accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken, refreshTokenExpiresAt };
  }

  async function endFamily(familyId: string): Promise<void> {
    const now = clock.now();
    await store.refreshTokens.revokeFamily(familyId, now);
    await deps.revocations.sessionsRevoked([familyId], now);
  }

  return {
    /**
     * Starts a new session (family) for a user who just proved who they are; inside `tx`
     * when given, so it commits or rolls back with the caller's other writes.
     */
    start(user: UserRecord, tx: UsersRepositories = store): Promise<AuthPayload> {
      const familyId = randomUUID();
      return issue(user, familyId, (row) => tx.refreshTokens.create({ ...row, userId: user.id, familyId }));
    },

    /** Rotates a refresh token: new access and refresh tokens in the same family. */
    async refresh(presented: string): Promise<AuthPayload> {
      const hash = refreshTokenHash(presented);
      const current = hash ? await store.refreshTokens.findByHash(hash) : null;
      if (!current) throw invalidRefreshToken();
      const reuse = async (how: string) => {
        logger.warn({ userId: current.userId, familyId: current.familyId, how }, 'refresh token reused; session revoked');
        await endFamily(current.familyId);
        return invalidRefreshToken();
      };
      if (current.rotatedAt && !current.revokedAt) throw await reuse('after rotation');
      if (current.revokedAt || current.expiresAt <= clock.now() || (await store.refreshTokens.isFamilyRevoked(current.familyId))) {
        throw invalidRefreshToken();
      }
      const user = await store.users.findById(current.userId);
      if (!user) throw invalidRefreshToken();
      const payload = await store.transaction(async (tx) => {
        if (!(await tx.refreshTokens.markRotated(current.id, clock.now()))) return null;
        return issue(user, current.familyId, (row) => tx.refreshTokens.create({ ...row, userId: user.id, familyId: current.familyId }));
      });
      if (!payload) throw await reuse('concurrently');
      return payload;
    },

    /** Ends the session a refresh token belongs to; unknown tokens are ignored (no oracle). */
    async end(presented: string): Promise<void> {
      const hash = refreshTokenHash(presented);
      const token = hash ? await store.refreshTokens.findByHash(hash) : null;
      if (token) await endFamily(token.familyId);
    },

    /**
     * Ends every session of a user, together with `change` in one transaction: a password
     * change and the sign-out it implies happen both or neither. `change` may throw to abort.
     */
    async endAllOf(userId: string, change: (tx: UsersRepositories) => Promise<void>): Promise<void> {
      const now = clock.now();
      const families = await store.transaction(async (tx) => {
        await change(tx);
        return tx.refreshTokens.revokeAllOfUser(userId, now);
      });
      await deps.revocations.sessionsRevoked(families, now);
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
