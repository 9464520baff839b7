import { createInferenceBus } from '../../lib/inference/index.js';
import { createLiveHub } from '../../lib/live/pubsub.js';
import { createSubgraph, type Subgraph, type SubgraphDeps } from '../../lib/subgraph.js';
import type { UsageContext } from './context.js';
import { createUsagePrisma } from './data/database.js';
import { createUsageRepository } from './data/usage-repository.js';
import { createPlatformMetricsFeed } from './domain/platform-metrics.js';
import { createUsageResolvers } from './resolvers/index.js';

export interface UsageSubgraphOptions {
  /**
   * Jobs waiting for an inference worker, for the dashboard (the all-in-one platform passes its
   * shared bus's). @default the depth of the inference bus on `deps.redis`
   */
  queueDepth?: () => Promise<number>;
}

/**
 * The usage subgraph: plans, metering, billing and live usage. Builds everything, listens
 * nowhere. Its Redis subscriber connection (for `usageLive`) opens with the first live
 * subscription; `close()` ends every open subscription and closes it.
 */
export function createUsageSubgraph(deps: SubgraphDeps, options: UsageSubgraphOptions = {}): Subgraph {
  const prisma = createUsagePrisma(deps.db);
  const logger = deps.logger.child({ subgraph: 'usage' });
  const hub = createLiveHub(deps.redis, logger);
  // Only the queue's depth is read; the log retention is the inference subgraph's concern.
  const ownBus = options.queueDepth ? null : createInferenceBus(deps.redis, { inProcess: false, streamTtlSeconds: 3_600 });
  const queueDepth = options.queueDepth ?? (() => ownBus!.queue.depth());
  const platformMetrics = createPlatformMetricsFeed({ redis: deps.redis, clock: deps.clock, logger, queueDepth });
  return createSubgraph<UsageContext>({
    name: 'usage',
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers: createUsageResolvers({ usage: createUsageRepository(prisma), clock: deps.clock, hub, platformMetrics }),
    deps,
    context: (principal) => ({ principal }),
    close: async () => {
      platformMetrics.close();
      await hub.close();
      await ownBus?.close();
      await prisma.$disconnect();
    },
  });
}
