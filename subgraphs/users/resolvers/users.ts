import { isUuid } from '../../../lib/ids.js';
import type { Resolvers } from '../__generated__/resolvers-types.js';
import type { UsersRepository } from '../data/users-repository.js';
import { effectiveScopes } from '../domain/scopes.js';
import { requireScope } from './guards.js';

export function userResolvers(users: UsersRepository): Resolvers {
  const findUser = (id: string) => (isUuid(id) ? users.findById(id) : null);
  return {
    Query: {
      me: (_parent, _args, { principal }) => (principal.userId ? findUser(principal.userId) : null),
      user(_parent, { id }, { principal }) {
        requireScope(principal, 'users:read');
        return findUser(id);
      },
    },
    User: {
      __resolveReference: (reference) => findUser(reference.id),
      scopes: (user) => effectiveScopes(user),
    },
  };
}
