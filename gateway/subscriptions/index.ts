import type { Registry } from 'prom-client';

import type { Clock } from '../../lib/clock.js';
import { graphqlError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { GatewayConfig } from '../config.js';
import type { GatewayEngine } from '../engine/engine.js';
import type { Upstream } from '../upstream/index.js';
import { createSubscriptionHub } from './hub.js';
import { createSubscriptionMetrics } from './metrics.js';
import { useFederatedSubscriptions } from './use-federated-subscriptions.js';

/** Federated subscriptions for the gateway, assembled from its config. */
export function createGatewaySubscriptions(
  config: GatewayConfig,
  deps: {
    engine: GatewayEngine;
    upstream: Upstream;
    registry: Registry;
    clock: Clock;
    logger: Logger;
  },
) {
  return useFederatedSubscriptions({
    engine: deps.engine,
    hub: createSubscriptionHub({
      maxQueuedEvents: config.SUBSCRIPTION_MAX_QUEUED_EVENTS,
      overflow: () => ({
        errors: [graphqlError('SUBSCRIPTION_LIMIT_EXCEEDED', 'The client fell too far behind the event stream; subscribe again')],
      }),
    }),
    upstream: deps.upstream,
    limits: {
      perPrincipal: config.MAX_SUBSCRIPTIONS_PER_PRINCIPAL,
      perProcess: config.MAX_SUBSCRIPTIONS,
      maxLifetimeMs: config.SUBSCRIPTION_MAX_LIFETIME_SECONDS * 1000,
    },
    snapshotFields: new Set(config.SUBSCRIPTION_SNAPSHOT_FIELDS),
    resumableFields: new Set(config.SUBSCRIPTION_RESUMABLE_FIELDS),
    metrics: createSubscriptionMetrics(deps.registry),
    clock: deps.clock,
    logger: deps.logger,
  });
}

export type GatewaySubscriptions = ReturnType<typeof createGatewaySubscriptions>;
