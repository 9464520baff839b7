import type { Database } from '../../../lib/db/connection.js';
import { PrismaClient } from './__generated__/prisma/client.js';

export type InferencePrisma = PrismaClient;

export function createInferencePrisma(db: Database): InferencePrisma {
  return new PrismaClient({ adapter: db.adapter });
}
