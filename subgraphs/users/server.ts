import { createSubgraph, type Subgraph, type SubgraphDeps } from '../../lib/subgraph.js';
import type { UsersContext } from './context.js';
import { createUsersPrisma } from './data/database.js';
import { createUsersRepository } from './data/users-repository.js';
import { createUsersResolvers } from './resolvers/index.js';

/** The users subgraph: accounts and credentials. Builds everything, listens nowhere. */
export function createUsersSubgraph(deps: SubgraphDeps): Subgraph {
  const prisma = createUsersPrisma(deps.db);
  return createSubgraph<UsersContext>({
    name: 'users',
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers: createUsersResolvers({ users: createUsersRepository(prisma) }),
    deps,
    context: (identity) => ({ userId: identity.userId }),
    close: () => prisma.$disconnect(),
  });
}
