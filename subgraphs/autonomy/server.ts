import { publishDecision } from '../../lib/autonomy/actions.js';
import { createSubgraph, type Subgraph, type SubgraphDeps } from '../../lib/subgraph.js';
import { type AutonomyContext, createAutonomyLoaders } from './context.js';
import { createActionsRepository } from './data/actions-repository.js';
import { createAutonomyPrisma } from './data/database.js';
import { startProposalConsumer } from './data/proposal-consumer.js';
import { createSettingsRepository } from './data/settings-repository.js';
import { createActionDesk } from './domain/actions.js';
import { createAutonomyResolvers } from './resolvers/index.js';

/**
 * The autonomy subgraph: how much AI each user allows, per task, and the actions models
 * propose. Builds everything and starts consuming proposed actions (stopped by `close`);
 * listens nowhere.
 */
export function createAutonomySubgraph(deps: SubgraphDeps): Subgraph {
  const prisma = createAutonomyPrisma(deps.db);
  const settings = createSettingsRepository(prisma);
  const actions = createActionsRepository(prisma);
  const logger = deps.logger.child({ subgraph: 'autonomy' });
  const desk = createActionDesk({ actions, settings, publish: (decision) => publishDecision(deps.redis, decision), clock: deps.clock, logger });
  const consumer = startProposalConsumer({ redis: deps.redis, logger, receive: desk.receive, afterRead: desk.publishOutstanding });
  return createSubgraph<AutonomyContext>({
    name: 'autonomy',
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers: createAutonomyResolvers({ settings, actions, desk }),
    deps,
    context: (principal) => ({ principal, loaders: createAutonomyLoaders(settings) }),
    close: async () => {
      await consumer.stop();
      await prisma.$disconnect();
    },
  });
}
