import { conflict } from '../../../lib/errors.js';
import { Prisma } from './__generated__/prisma/client.js';
import type { UsersPrisma } from './database.js';

export type UserRecord = Awaited<ReturnType<UsersPrisma['user']['findUniqueOrThrow']>>;

export function createUsersRepository(prisma: UsersPrisma) {
  return {
    findById: (id: string) => prisma.user.findUnique({ where: { id } }),
    findByEmail: (email: string) => prisma.user.findUnique({ where: { email } }),
    async create(input: { email: string; displayName: string; passwordHash: string }): Promise<UserRecord> {
      try {
        return await prisma.user.create({ data: input });
      } catch (error) {
        if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
          throw conflict('An account with this email already exists');
        }
        throw error;
      }
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
