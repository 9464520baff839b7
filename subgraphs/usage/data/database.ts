import type { Database } from '../../../lib/db/connection.js';
import { Prisma, PrismaClient } from './__generated__/prisma/client.js';

export type UsagePrisma = PrismaClient;

export function createUsagePrisma(db: Database): UsagePrisma {
  return new PrismaClient({ adapter: db.adapter });
}

/** Whether a write failed on a unique constraint (another writer got there first). */
export const isUniqueViolation = (error: unknown) => error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
