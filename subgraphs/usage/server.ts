import { createLiveHub } from '../../lib/live/pubsub.js';
import { createSubgraph, type Subgraph, type SubgraphDeps } from '../../lib/subgraph.js';
import { createUsageLoaders, type UsageContext } from './context.js';
import { createUsagePrisma } from './data/database.js';
import { createUsageRepository } from './data/usage-repository.js';
import { createPlatformMetricsFeed } from './domain/platform-metrics.js';
import { createUsageResolvers } from './resolvers/index.js';

/**
 * The usage subgraph: plans, metering, billing and live usage. Builds everything, listens
 * nowhere. Its Redis subscriber connection (for `usageLive`) opens with the first live
 * subscription; `close()` ends every open subscription and closes it.
 */
export function createUsageSubgraph(deps: SubgraphDeps): Subgraph {
  const prisma = createUsagePrisma(deps.db);
  const usage = createUsageRepository(prisma);
  const logger = deps.logger.child({ subgraph: 'usage' });
  const hub = createLiveHub(deps.redis, logger);
  const platformMetrics = createPlatformMetricsFeed({ redis: deps.redis, clock: deps.clock, logger });
  return createSubgraph<UsageContext>({
    name: 'usage',
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers: createUsageResolvers({ usage, clock: deps.clock, hub, platformMetrics }),
    deps,
    context: (principal) => ({ principal, loaders: createUsageLoaders(usage) }),
    close: async () => {
      platformMetrics.close();
      await hub.close();
      await prisma.$disconnect();
    },
  });
}
