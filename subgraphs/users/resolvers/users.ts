import { DATA_ADMIN_SCOPES, requireDataOf } from '../../../lib/auth/ownership.js';
import { isUuid } from '../../../lib/ids.js';
import type { Resolvers } from '../__generated__/resolvers-types.js';
import type { UsersRepository } from '../data/users-repository.js';
import { effectiveScopes } from '../domain/scopes.js';
import { requireScope } from './guards.js';

/**
 * A user's row leaves this subgraph only to that user or an admin: through `me` (the caller),
 * `user(id)` (scope users:read), an AuthPayload (the caller who just proved the credentials)
 * or an entity reference, checked here because other subgraphs and direct `_entities`
 * requests reach it that way.
 */
export function userResolvers(users: UsersRepository): Resolvers {
  const findUser = (id: string) => (isUuid(id) ? users.findById(id) : null);
  return {
    Query: {
      me: (_parent, _args, { principal }) => (principal.userId ? findUser(principal.userId) : null),
      user(_parent, { id }, { principal }) {
        requireScope(principal, DATA_ADMIN_SCOPES.users);
        return findUser(id);
      },
    },
    User: {
      // Every representation of one `_entities` call is checked here, then loaded in one query.
      __resolveReference(reference, { principal, loaders }) {
        requireDataOf(principal, reference.id, DATA_ADMIN_SCOPES.users, 'User');
        return isUuid(reference.id) ? loaders.user(reference.id) : null;
      },
      scopes: (user) => effectiveScopes(user),
    },
  };
}
