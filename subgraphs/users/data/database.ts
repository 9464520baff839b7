import type { Database } from '../../../lib/db/connection.js';
import type { MigrationSet } from '../../../lib/db/migrations.js';
import { PrismaClient } from './__generated__/prisma/client.js';

export type UsersPrisma = PrismaClient;

export const usersMigrations: MigrationSet = {
  schema: 'users',
  directory: new URL('../../../prisma/users/migrations', import.meta.url).pathname,
};

export function createUsersPrisma(db: Database): UsersPrisma {
  return new PrismaClient({ adapter: db.adapter });
}
