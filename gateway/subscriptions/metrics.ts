import { Counter, Histogram, type Registry } from 'prom-client';

import { METRIC_NAMESPACE } from '../../lib/metrics.js';

/** Why a subscription ended, as the `reason` label of its duration. */
export type SubscriptionEnd = 'completed' | 'cancelled' | 'expired' | 'unauthenticated' | 'upstream_failed' | 'overflow';

/**
 * Subscription metrics kept by the subscription executor itself, not by the envelop
 * Prometheus plugin: that plugin wraps every subscription's stream to time it, which at
 * 10,000 open subscriptions is memory the gateway cannot spare (see `useGraphqlMetrics`).
 */
export function createSubscriptionMetrics(registry: Registry) {
  const started = new Counter({
    name: `${METRIC_NAMESPACE}_gateway_subscriptions_started_total`,
    help: 'Subscriptions the gateway started (upstream opened or shared).',
    registers: [registry],
  });
  const refused = new Counter({
    name: `${METRIC_NAMESPACE}_gateway_subscriptions_refused_total`,
    help: 'Subscriptions refused before they started, by error code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${METRIC_NAMESPACE}_gateway_subscription_duration_seconds`,
    help: 'How long subscriptions stayed open, by why they ended.',
    labelNames: ['reason'] as const,
    buckets: [1, 10, 60, 300, 900, 3_600, 14_400, 86_400],
    registers: [registry],
  });
  const events = new Counter({
    name: `${METRIC_NAMESPACE}_gateway_subscription_events_total`,
    help: 'Events delivered to subscriptions, by outcome (ok, or error: the event carried GraphQL errors).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  return {
    started: () => started.inc(),
    refused: (code: string) => refused.inc({ code }),
    ended: (reason: SubscriptionEnd, seconds: number) => duration.observe({ reason }, seconds),
    delivered: (hasErrors: boolean) => events.inc({ outcome: hasErrors ? 'error' : 'ok' }),
  };
}

export type SubscriptionMetrics = ReturnType<typeof createSubscriptionMetrics>;
