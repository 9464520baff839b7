import { badUserInput } from '../../../lib/errors.js';
import { isUuid } from '../../../lib/ids.js';
import { DateTimeScalar } from '../../../lib/scalars.js';
import type { Resolvers } from '../__generated__/resolvers-types.js';
import type { UsersRepository } from '../data/users-repository.js';
import { checkPasswordPolicy, hashPassword } from '../domain/passwords.js';

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_EMAIL_LENGTH = 254;
const MAX_DISPLAY_NAME_LENGTH = 100;

export function createUsersResolvers(deps: { users: UsersRepository }): Resolvers {
  const { users } = deps;
  const findUser = (id: string) => (isUuid(id) ? users.findById(id) : null);
  return {
    DateTime: DateTimeScalar,
    Query: {
      me: (_parent, _args, context) => (context.principal.userId ? findUser(context.principal.userId) : null),
      user: (_parent, { id }) => findUser(id),
    },
    Mutation: {
      async register(_parent, { input }) {
        const email = input.email.trim().toLowerCase();
        if (email.length > MAX_EMAIL_LENGTH || !EMAIL_PATTERN.test(email)) {
          throw badUserInput('Email address is not valid', { field: 'email' });
        }
        const displayName = input.displayName.trim();
        if (displayName.length === 0 || displayName.length > MAX_DISPLAY_NAME_LENGTH) {
          throw badUserInput(`Display name must be 1 to ${MAX_DISPLAY_NAME_LENGTH} characters`, { field: 'displayName' });
        }
        checkPasswordPolicy(input.password, email);
        const user = await users.create({ email, displayName, passwordHash: await hashPassword(input.password) });
        return { user };
      },
    },
    User: {
      __resolveReference: (reference) => findUser(reference.id),
    },
  };
}
