import type { Registry } from 'prom-client';
import type { Clock } from '../../lib/clock.js';
import { graphqlError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { GatewayConfig } from '../config.js';
import { useFederatedSubscriptions } from '../plugins/use-federated-subscriptions.js';
import type { SubgraphEndpoint } from '../plugins/use-health.js';
import type { SubgraphDataSource } from '../subgraph-data-source.js';
import { createSubscriptionHub } from './hub.js';
import { createSubscriptionMetrics } from './metrics.js';
import { createSubscriptionPlanner } from './planner.js';

/** Federated subscriptions for the gateway, assembled from its config. */
export function createGatewaySubscriptions(
  config: GatewayConfig,
  deps: {
    supergraphSdl: string;
    subgraphs: SubgraphEndpoint[];
    dataSources: Record<string, SubgraphDataSource>;
    registry: Registry;
    clock: Clock;
    logger: Logger;
  },
) {
  return useFederatedSubscriptions({
    planner: createSubscriptionPlanner(deps.supergraphSdl),
    hub: createSubscriptionHub({
      maxQueuedEvents: config.SUBSCRIPTION_MAX_QUEUED_EVENTS,
      overflow: () => ({
        errors: [graphqlError('SUBSCRIPTION_LIMIT_EXCEEDED', 'The client fell too far behind the event stream; subscribe again')],
      }),
    }),
    dataSources: deps.dataSources,
    subgraphUrls: Object.fromEntries(deps.subgraphs.map((s) => [s.name, s.url])),
    protocolOf: (subgraph) => config.SUBGRAPH_SUBSCRIPTION_PROTOCOLS[subgraph] ?? 'ws',
    limits: {
      perPrincipal: config.MAX_SUBSCRIPTIONS_PER_PRINCIPAL,
      perProcess: config.MAX_SUBSCRIPTIONS,
      maxLifetimeMs: config.SUBSCRIPTION_MAX_LIFETIME_SECONDS * 1000,
      upstreamKeepAliveMs: config.SUBSCRIPTION_KEEPALIVE_MS,
    },
    snapshotFields: new Set(config.SUBSCRIPTION_SNAPSHOT_FIELDS),
    metrics: createSubscriptionMetrics(deps.registry),
    clock: deps.clock,
    logger: deps.logger,
  });
}

export type GatewaySubscriptions = ReturnType<typeof createGatewaySubscriptions>;
