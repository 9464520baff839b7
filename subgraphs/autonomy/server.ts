import { publishDecision } from '../../lib/autonomy/actions.js';
import { announceAutonomyChange } from '../../lib/autonomy/changes.js';
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
  // The change is committed either way: a marker Redis did not take leaves caches of the old
  // level in use until their maximum age (INFERENCE_AUTONOMY_CACHE_SECONDS), so it is logged, not refused.
  const announceChange = (userId: string) =>
    announceAutonomyChange(deps.redis, userId).catch((error: unknown) => {
      logger.error({ err: error, userId }, 'autonomy: change stored but not announced; cached levels follow within their maximum age');
    });
  return createSubgraph<AutonomyContext>({
    name: 'autonomy',
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers: createAutonomyResolvers({ settings, actions, desk, announceChange }),
    deps,
    context: (principal) => ({ principal, loaders: createAutonomyLoaders(settings) }),
    close: async () => {
      await consumer.stop();
      await prisma.$disconnect();
    },
  });
}
