import { createLiveHub } from '../../lib/live/pubsub.js';
import { createSubgraph, type Subgraph, type SubgraphDeps } from '../../lib/subgraph.js';
import type { UsageContext } from './context.js';
import { createUsagePrisma } from './data/database.js';
import { createPlansRepository } from './data/plans-repository.js';
import { createUsageRepository } from './data/usage-repository.js';
import { createPlans } from './domain/plans.js';
import { createPlatformMetricsFeed } from './domain/platform-metrics.js';
import { startTokenQuotaCounters } from './domain/quota-counters.js';
import { createUsageResolvers } from './resolvers/index.js';

/**
 * The usage subgraph: plans, metering, billing and live usage. Builds everything, listens
 * nowhere. Its Redis subscriber connection (for `usageLive`) opens with the first live
 * subscription; the token quota counters consume `usage:events` on a connection of their
 * own from the start. `close()` ends every open subscription and both connections.
 */
export function createUsageSubgraph(deps: SubgraphDeps): Subgraph {
  const prisma = createUsagePrisma(deps.db);
  const logger = deps.logger.child({ subgraph: 'usage' });
  const hub = createLiveHub(deps.redis, logger);
  const platformMetrics = createPlatformMetricsFeed({ redis: deps.redis, clock: deps.clock, logger });
  const plansRepository = createPlansRepository(prisma);
  const plans = createPlans({ plans: plansRepository, redis: deps.redis, clock: deps.clock, logger });
  void plans.republishEditedCatalogue();
  const quotaCounters = startTokenQuotaCounters({ redis: deps.redis, logger });
  return createSubgraph<UsageContext>({
    name: 'usage',
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers: createUsageResolvers({ usage: createUsageRepository(prisma), clock: deps.clock, hub, platformMetrics, plans, plansRepository }),
    deps,
    context: (principal) => ({ principal }),
    close: async () => {
      await quotaCounters.stop();
      platformMetrics.close();
      await hub.close();
      await prisma.$disconnect();
    },
  });
}
