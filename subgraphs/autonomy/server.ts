import { createSubgraph, type Subgraph, type SubgraphDeps } from '../../lib/subgraph.js';
import { type AutonomyContext, createAutonomyLoaders } from './context.js';
import { createAutonomyPrisma } from './data/database.js';
import { createSettingsRepository } from './data/settings-repository.js';
import { createAutonomyResolvers } from './resolvers/index.js';

/** The autonomy subgraph: how much AI each user allows, per task. Builds everything, listens nowhere. */
export function createAutonomySubgraph(deps: SubgraphDeps): Subgraph {
  const prisma = createAutonomyPrisma(deps.db);
  const settings = createSettingsRepository(prisma);
  return createSubgraph<AutonomyContext>({
    name: 'autonomy',
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers: createAutonomyResolvers(),
    deps,
    context: (principal) => ({ principal, loaders: createAutonomyLoaders(settings) }),
    close: () => prisma.$disconnect(),
  });
}
