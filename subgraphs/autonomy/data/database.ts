import type { Database } from '../../../lib/db/connection.js';
import { PrismaClient } from './__generated__/prisma/client.js';

export type AutonomyPrisma = PrismaClient;

export function createAutonomyPrisma(db: Database): AutonomyPrisma {
  return new PrismaClient({ adapter: db.adapter });
}
