import type { Principal } from '../../lib/auth/principal.js';
import { createBatchLoader } from '../../lib/batch-loader.js';
import type { UserRecord, UsersRepository } from './data/users-repository.js';

/** Per-request context of the users subgraph. */
export interface UsersContext {
  /** The caller, as vouched for by the gateway's signed identity header. */
  principal: Principal;
  loaders: UsersLoaders;
}

export type UsersLoaders = ReturnType<typeof createUsersLoaders>;

/** Made for each request: one query per `_entities` call or level of a selection (lib/batch-loader.ts). */
export function createUsersLoaders(users: UsersRepository) {
  return {
    user: createBatchLoader<string, UserRecord | null>({
      loadMany: async (ids) => new Map((await users.findByIds(ids)).map((user) => [user.id, user])),
      missing: null,
    }),
  };
}
