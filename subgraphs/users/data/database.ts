import type { Database } from '../../../lib/db/connection.js';
import { PrismaClient } from './__generated__/prisma/client.js';

/**
 * Credential hashes are left out of every read unless a query asks for them by name
 * (`omit: { passwordHash: false }`), so a hash cannot reach a response or a log by accident.
 */
const SECRET_COLUMNS = {
  user: { passwordHash: true },
  apiKey: { keyHash: true },
  refreshToken: { tokenHash: true },
  passwordReset: { tokenHash: true },
} as const;

export function createUsersPrisma(db: Database) {
  return new PrismaClient({ adapter: db.adapter, omit: SECRET_COLUMNS });
}

export type UsersPrisma = ReturnType<typeof createUsersPrisma>;

/** What a repository runs on: the client itself or an interactive transaction of it. */
export type UsersDb = Pick<UsersPrisma, 'user' | 'refreshToken' | 'apiKey' | 'passwordReset' | 'outboxMessage' | '$queryRaw'>;
