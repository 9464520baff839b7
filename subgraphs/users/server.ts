import type { SigningKeys } from '../../lib/auth/keys.js';
import { createSubgraph, type Subgraph, type SubgraphDeps } from '../../lib/subgraph.js';
import type { UsersConfig } from './config.js';
import type { UsersContext } from './context.js';
import { createUsersPrisma } from './data/database.js';
import { createUsersRepository } from './data/users-repository.js';
import { createUsersResolvers } from './resolvers/index.js';

/** What the users subgraph needs beyond the common deps: token keys and its auth settings. */
export type UsersSettings = Pick<
  UsersConfig,
  | 'ACCESS_TOKEN_TTL_SECONDS'
  | 'REFRESH_TOKEN_TTL_SECONDS'
  | 'PASSWORD_RESET_TTL_SECONDS'
  | 'LOGIN_LIMIT_PER_IP'
  | 'LOGIN_LIMIT_PER_ACCOUNT'
  | 'REGISTER_LIMIT_PER_IP'
  | 'PASSWORD_RESET_LIMIT_PER_IP'
  | 'PASSWORD_RESET_LIMIT_PER_ACCOUNT'
> & { keys: SigningKeys };

/** The users subgraph: accounts and credentials. Builds everything, listens nowhere. */
export function createUsersSubgraph(deps: SubgraphDeps, _settings: UsersSettings): Subgraph {
  const prisma = createUsersPrisma(deps.db);
  return createSubgraph<UsersContext>({
    name: 'users',
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers: createUsersResolvers({ users: createUsersRepository(prisma) }),
    deps,
    context: (principal) => ({ principal }),
    close: () => prisma.$disconnect(),
  });
}
