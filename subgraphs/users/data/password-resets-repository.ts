import type { UsersDb } from './database.js';

/** Password-reset tokens, stored only as SHA-256 hex; each works once, before it expires. */
export function createPasswordResetsRepository(db: UsersDb) {
  return {
    async create(input: { userId: string; tokenHash: string; expiresAt: Date }): Promise<void> {
      await db.passwordReset.create({ data: input, select: { id: true } });
    },
    findUsable: (tokenHash: string, now: Date) =>
      db.passwordReset.findFirst({ where: { tokenHash, usedAt: null, expiresAt: { gt: now } } }),
    /** Uses the token if it is still usable; false when another request used it first or it expired. */
    async redeem(id: string, now: Date): Promise<boolean> {
      const { count } = await db.passwordReset.updateMany({ where: { id, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } });
      return count === 1;
    },
    /** Voids a user's other outstanding links once one of them has been used. */
    async voidAllOfUser(userId: string, now: Date): Promise<void> {
      await db.passwordReset.updateMany({ where: { userId, usedAt: null }, data: { usedAt: now } });
    },
  };
}

export type PasswordResetsRepository = ReturnType<typeof createPasswordResetsRepository>;
