import { createSubgraph, type Subgraph, type SubgraphDeps } from '../../lib/subgraph.js';
import type { UsageContext } from './context.js';
import { createUsagePrisma } from './data/database.js';
import { createUsageRepository } from './data/usage-repository.js';
import { createUsageResolvers } from './resolvers/index.js';

/** The usage subgraph: plans, metering and billing. Builds everything, listens nowhere. */
export function createUsageSubgraph(deps: SubgraphDeps): Subgraph {
  const prisma = createUsagePrisma(deps.db);
  return createSubgraph<UsageContext>({
    name: 'usage',
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers: createUsageResolvers({ usage: createUsageRepository(prisma), clock: deps.clock }),
    deps,
    context: (principal) => ({ principal }),
    close: () => prisma.$disconnect(),
  });
}
