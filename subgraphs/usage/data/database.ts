import type { Database } from '../../../lib/db/connection.js';
import { PrismaClient } from './__generated__/prisma/client.js';

export type UsagePrisma = PrismaClient;

export function createUsagePrisma(db: Database): UsagePrisma {
  return new PrismaClient({ adapter: db.adapter });
}
