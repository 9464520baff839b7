import type { Database } from '../../../lib/db/connection.js';
import { PrismaClient } from './__generated__/prisma/client.js';

export type UsersPrisma = PrismaClient;

export function createUsersPrisma(db: Database): UsersPrisma {
  return new PrismaClient({ adapter: db.adapter });
}
