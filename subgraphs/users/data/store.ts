import { createApiKeysRepository } from './api-keys-repository.js';
import type { UsersDb, UsersPrisma } from './database.js';
import { createOutboxRepository } from './outbox-repository.js';
import { createPasswordResetsRepository } from './password-resets-repository.js';
import { createRefreshTokensRepository } from './refresh-tokens-repository.js';
import { createUsersRepository } from './users-repository.js';

function repositoriesOn(db: UsersDb) {
  return {
    users: createUsersRepository(db),
    refreshTokens: createRefreshTokensRepository(db),
    apiKeys: createApiKeysRepository(db),
    passwordResets: createPasswordResetsRepository(db),
    outbox: createOutboxRepository(db),
  };
}

export type UsersRepositories = ReturnType<typeof repositoriesOn>;

/** The users subgraph's tables: each repository, and `transaction` to use several atomically. */
export function createUsersStore(prisma: UsersPrisma) {
  return {
    ...repositoriesOn(prisma),
    transaction: <T>(work: (tx: UsersRepositories) => Promise<T>): Promise<T> => prisma.$transaction((tx) => work(repositoriesOn(tx))),
  };
}

export type UsersStore = ReturnType<typeof createUsersStore>;
