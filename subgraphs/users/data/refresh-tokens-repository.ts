import type { UsersDb } from './database.js';

/** Refresh tokens, stored only as SHA-256 hex; all tokens of one sign-in share a `familyId`. */
export function createRefreshTokensRepository(db: UsersDb) {
  return {
    async create(input: { userId: string; familyId: string; tokenHash: string; expiresAt: Date }): Promise<void> {
      await db.refreshToken.create({ data: input, select: { id: true } });
    },
    findByHash: (tokenHash: string) => db.refreshToken.findUnique({ where: { tokenHash } }),
    async isFamilyRevoked(familyId: string): Promise<boolean> {
      return (await db.refreshToken.count({ where: { familyId, revokedAt: { not: null } } })) > 0;
    },
    /**
     * Marks a token used, only if it still is unused and unrevoked. False means another
     * request used it first: the row lock makes exactly one of two concurrent uses win.
     */
    async markRotated(id: string, now: Date): Promise<boolean> {
      const { count } = await db.refreshToken.updateMany({ where: { id, rotatedAt: null, revokedAt: null }, data: { rotatedAt: now } });
      return count === 1;
    },
    /** Families revoked after `since`, each with its latest revocation: what the gateway's cache must hold. */
    async revokedFamiliesSince(since: Date): Promise<Array<{ familyId: string; revokedAt: Date }>> {
      const rows = await db.refreshToken.groupBy({ by: ['familyId'], where: { revokedAt: { gt: since } }, _max: { revokedAt: true } });
      return rows.map((row) => ({ familyId: row.familyId, revokedAt: row._max.revokedAt! }));
    },
    async revokeFamily(familyId: string, now: Date): Promise<void> {
      await db.refreshToken.updateMany({ where: { familyId, revokedAt: null }, data: { revokedAt: now } });
    },
    /**
     * Revokes every token of a user; returns the families that still had a live token, whose
     * access tokens may still be unexpired (the others' expired with them).
     */
    async revokeAllOfUser(userId: string, now: Date): Promise<string[]> {
      const live = await db.refreshToken.findMany({
        where: { userId, revokedAt: null, expiresAt: { gt: now } },
        distinct: ['familyId'],
        select: { familyId: true },
      });
      await db.refreshToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: now } });
      return live.map((row) => row.familyId);
    },
  };
}

export type RefreshTokensRepository = ReturnType<typeof createRefreshTokensRepository>;
