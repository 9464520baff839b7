import { createInferenceBus } from '../../lib/inference/index.js';
import { createLiveHub } from '../../lib/live/pubsub.js';
import { createSubgraph, type Subgraph, type SubgraphDeps } from '../../lib/subgraph.js';
import type { UsageConfig } from './config.js';
import { createUsageLoaders, type UsageContext } from './context.js';
import { createAggregatesRepository } from './data/aggregates-repository.js';
import { createAlertsRepository } from './data/alerts-repository.js';
import { createBillingOutboxRepository } from './data/billing-outbox-repository.js';
import { createUsagePrisma } from './data/database.js';
import { createInvoicesRepository } from './data/invoices-repository.js';
import { createPlansRepository, DEFAULT_PLAN_ID } from './data/plans-repository.js';
import { createUsageRepository } from './data/usage-repository.js';
import { type AiopsSettings, createAiops } from './domain/aiops/index.js';
import { createBillingExporter, exportBodyOf } from './domain/billing-export.js';
import { BILLING_BUCKETING } from './domain/billing-period.js';
import { createBillingSchedule, createPeriodCloser } from './domain/invoices.js';
import { createMeteringConsumer } from './domain/metering.js';
import { createPlans } from './domain/plans.js';
import { createPlatformMetricsFeed, createPlatformSampler } from './domain/platform-metrics.js';
import { startTokenQuotaCounters } from './domain/quota-counters.js';
import { createScalingSampler, type ScalingSettings } from './domain/scaling/sampler.js';
import { createUsageResolvers } from './resolvers/index.js';

/** What the usage subgraph needs of its configuration (the process's settings; defaults in config.ts). */
export type UsageSettings = ScalingSettings & AiopsSettings & Pick<
  UsageConfig,
  | 'USAGE_CONSUMER_NAME'
  | 'USAGE_METERING_BATCH_SIZE'
  | 'USAGE_METERING_BLOCK_MS'
  | 'USAGE_METERING_CLAIM_IDLE_MS'
  | 'BILLING_CLOSE_INTERVAL_MS'
  | 'BILLING_WEBHOOK_URL'
  | 'BILLING_WEBHOOK_SECRET'
  | 'BILLING_EXPORT_POLL_MS'
  | 'BILLING_EXPORT_BACKOFF_MS'
  | 'BILLING_EXPORT_MAX_BACKOFF_MS'
  | 'BILLING_EXPORT_TIMEOUT_MS'
>;

export interface UsageSubgraphOptions {
  /**
   * Jobs waiting for an inference worker, for the dashboard (the all-in-one platform passes its
   * shared bus's). @default the depth of the inference bus on `deps.redis`
   */
  queueDepth?: () => Promise<number>;
}

/**
 * The usage subgraph: plans, metering, billing and live usage. Builds everything, listens
 * nowhere. `start()` starts its background work: the metering consumer of `usage:events`,
 * the token quota counters (their own consumer group on it, on a connection of their own),
 * the republishing of an edited plan catalogue to Redis, the billing-period schedule,
 * (with BILLING_WEBHOOK_URL) the billing export, the scaling advice's sampling and AIOps (the
 * anomaly detector over the live figures, its alerts and their Slack messages: domain/aiops/);
 * `close()` stops them (a batch being
 * aggregated commits first), ends every open subscription and closes its connections.
 */
export function createUsageSubgraph(deps: SubgraphDeps, settings: UsageSettings, options: UsageSubgraphOptions = {}): Subgraph {
  const prisma = createUsagePrisma(deps.db);
  const usage = createUsageRepository(prisma);
  const logger = deps.logger.child({ subgraph: 'usage' });
  const hub = createLiveHub(deps.redis, logger);
  // Only the queue's depth is read; the log retention is the inference subgraph's concern.
  const ownBus = options.queueDepth ? null : createInferenceBus(deps.redis, { inProcess: false, streamTtlSeconds: 3_600 });
  const queueDepth = options.queueDepth ?? (() => ownBus!.queue.depth());
  const scaling = createScalingSampler({ redis: deps.redis, clock: deps.clock, logger: logger.child({ component: 'scaling' }), queueDepth, settings });
  const platformMetrics = createPlatformMetricsFeed({ redis: deps.redis, clock: deps.clock, logger, queueDepth, scaling: scaling.latest });
  const alerts = createAlertsRepository(prisma);
  const aggregates = createAggregatesRepository(prisma, BILLING_BUCKETING);
  const invoices = createInvoicesRepository(prisma);
  const plansRepository = createPlansRepository(prisma);
  const plans = createPlans({ plans: plansRepository, redis: deps.redis, clock: deps.clock, logger });
  const webhook = settings.BILLING_WEBHOOK_URL && settings.BILLING_WEBHOOK_SECRET ? { url: settings.BILLING_WEBHOOK_URL, secret: settings.BILLING_WEBHOOK_SECRET } : null;
  const exporter = webhook
    ? createBillingExporter({
        outbox: createBillingOutboxRepository(prisma),
        clock: deps.clock,
        logger: logger.child({ component: 'billing-export' }),
        webhookUrl: webhook.url,
        secret: webhook.secret,
        pollMs: settings.BILLING_EXPORT_POLL_MS,
        backoffMs: settings.BILLING_EXPORT_BACKOFF_MS,
        maxBackoffMs: settings.BILLING_EXPORT_MAX_BACKOFF_MS,
        timeoutMs: settings.BILLING_EXPORT_TIMEOUT_MS,
      })
    : null;
  const closePeriod = createPeriodCloser({
    aggregates,
    invoices,
    defaultPlanId: DEFAULT_PLAN_ID,
    exportBody: exporter ? exportBodyOf : null,
    exported: () => exporter?.wake(),
  });
  const schedule = createBillingSchedule({ intervalMs: settings.BILLING_CLOSE_INTERVAL_MS, clock: deps.clock, logger, closePeriod });
  let stopBackground: () => Promise<void> = async () => {};
  const subgraph: Subgraph = createSubgraph<UsageContext>({
    name: 'usage',
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers: createUsageResolvers({ aggregates, invoices, clock: deps.clock, hub, platformMetrics, alerts, closePeriod, plans, plansRepository }),
    deps,
    context: (principal) => ({ principal, loaders: createUsageLoaders(usage) }),
    start: async () => {
      const metering = createMeteringConsumer({
        redis: deps.redis,
        aggregates,
        logger: logger.child({ component: 'metering' }),
        registry: subgraph.registry,
        consumerName: settings.USAGE_CONSUMER_NAME,
        batchSize: settings.USAGE_METERING_BATCH_SIZE,
        blockMs: settings.USAGE_METERING_BLOCK_MS,
        claimIdleMs: settings.USAGE_METERING_CLAIM_IDLE_MS,
      });
      metering.start();
      const aiops = createAiops({
        settings,
        alerts,
        sample: createPlatformSampler({ redis: deps.redis, clock: deps.clock, queueDepth, scaling: scaling.latest }),
        redis: deps.redis,
        clock: deps.clock,
        logger: logger.child({ component: 'aiops' }),
        registry: subgraph.registry,
      });
      await aiops.start();
      const quotaCounters = startTokenQuotaCounters({ redis: deps.redis, logger });
      // Never rejects (a failure is logged); awaited by close so it ends before the connections.
      const republishing = plans.republishEditedCatalogue();
      stopBackground = async () => {
        await metering.stop();
        await aiops.stop();
        await quotaCounters.stop();
        await republishing;
      };
      schedule.start();
      exporter?.start();
      scaling.start();
    },
    close: async () => {
      await scaling.stop();
      await stopBackground();
      await schedule.stop();
      await exporter?.stop();
      platformMetrics.close();
      await hub.close();
      await ownBus?.close();
      await prisma.$disconnect();
    },
  });
  scaling.register(subgraph.registry);
  return subgraph;
}
