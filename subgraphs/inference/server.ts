import { createSubgraph, type Subgraph, type SubgraphDeps } from '../../lib/subgraph.js';
import { createInferenceLoaders, type InferenceContext } from './context.js';
import { createInferencePrisma } from './data/database.js';
import { createJobsRepository } from './data/jobs-repository.js';
import { createInferenceResolvers } from './resolvers/index.js';

/** The inference subgraph: models and jobs. Builds everything, listens nowhere. */
export function createInferenceSubgraph(deps: SubgraphDeps): Subgraph {
  const prisma = createInferencePrisma(deps.db);
  const jobs = createJobsRepository(prisma);
  return createSubgraph<InferenceContext>({
    name: 'inference',
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers: createInferenceResolvers({ jobs }),
    deps,
    context: (principal) => ({ principal, loaders: createInferenceLoaders(jobs) }),
    close: () => prisma.$disconnect(),
  });
}
