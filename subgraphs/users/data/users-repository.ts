import { conflict } from '../../../lib/errors.js';
import { Prisma } from './__generated__/prisma/client.js';
import type { UsersDb } from './database.js';

export function createUsersRepository(db: UsersDb) {
  return {
    findById: (id: string) => db.user.findUnique({ where: { id } }),
    findByIds: (ids: string[]) => db.user.findMany({ where: { id: { in: ids } } }),
    findByEmail: (email: string) => db.user.findUnique({ where: { email } }),
    /** With the password hash: for checking credentials, nothing else. */
    findCredentialsByEmail: (email: string) => db.user.findUnique({ where: { email }, omit: { passwordHash: false } }),
    findCredentialsById: (id: string) => db.user.findUnique({ where: { id }, omit: { passwordHash: false } }),
    /** Whether any account holds `role` (the development admin is made only when none is admin). */
    hasAnyWithRole: async (role: string) => (await db.user.count({ where: { roles: { has: role } } })) > 0,
    async create(input: { email: string; displayName: string; passwordHash: string; roles?: string[] }) {
      try {
        return await db.user.create({ data: input });
      } catch (error) {
        if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
          throw conflict('An account with this email already exists');
        }
        throw error;
      }
    },
    /**
     * The tier new tokens carry, as changed at `changedAt`, unless a later change is already
     * recorded (changes can arrive out of order). False when nothing was updated.
     */
    async setPlanTier(id: string, planTier: string, changedAt: Date): Promise<boolean> {
      const { count } = await db.user.updateMany({
        where: { id, OR: [{ planTierChangedAt: null }, { planTierChangedAt: { lte: changedAt } }] },
        data: { planTier, planTierChangedAt: changedAt },
      });
      return count > 0;
    },
    async setPasswordHash(id: string, passwordHash: string): Promise<void> {
      await db.user.update({ where: { id }, data: { passwordHash } });
    },
    /** Row lock until the transaction ends, so per-user limits (active API keys) hold under concurrency. */
    async lock(id: string): Promise<void> {
      await db.$queryRaw`SELECT 1 FROM "users"."User" WHERE "id" = ${id}::uuid FOR UPDATE`;
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
export type UserRecord = NonNullable<Awaited<ReturnType<UsersRepository['findById']>>>;
