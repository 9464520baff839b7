import type { ExecutionArgs, ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

import type { Principal } from '../../lib/auth/principal.js';
import type { Clock } from '../../lib/clock.js';
import { graphqlError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { GatewayEngine } from '../engine/engine.js';
import type { Upstream, UpstreamCaller } from '../upstream/index.js';
import { FederatedSubscription, type SubscriptionRuntime } from './federated-subscription.js';
import type { SubscriptionHub } from './hub.js';
import type { SubscriptionMetrics } from './metrics.js';

export interface SubscriptionLimits {
  /** Open subscriptions one principal may hold on this gateway process. */
  perPrincipal: number;
  /** Open subscriptions this gateway process holds in all. */
  perProcess: number;
  /** A subscription ends (SUBSCRIPTION_EXPIRED) after this long; clients resubscribe. */
  maxLifetimeMs: number;
}

export interface FederatedSubscriptionsOptions {
  /** Plans each subscription and resolves the entity fields of its events. */
  engine: Pick<GatewayEngine, 'planSubscription' | 'resolveEvent'>;
  hub: SubscriptionHub;
  /** Opens the owning subgraph's subscription. */
  upstream: Pick<Upstream, 'subscribe'>;
  limits: SubscriptionLimits;
  /**
   * Root subscription fields whose events are snapshots of state: a subscriber that joins a
   * shared upstream gets its latest event at once (see hub.ts).
   */
  snapshotFields: ReadonlySet<string>;
  /**
   * Root subscription fields that replay a log from an argument (`inferenceEvents(after)`):
   * never shared, since a joiner would miss the events the shared upstream already delivered.
   */
  resumableFields: ReadonlySet<string>;
  metrics: SubscriptionMetrics;
  clock: Clock;
  logger: Logger;
}

/**
 * Executes subscription operations: the owning subgraph's subscription (planned by the
 * engine) is opened upstream over graphql-ws or SSE, shared by every identical subscription
 * of the same caller (see hub.ts) unless its field is resumable, and the engine resolves each event's entity fields from the
 * other subgraphs, so errors and nulls bubble exactly as for queries. Identical documents
 * share one execution per event.
 *
 * A subscription ends with a final error event when the caller's token expires
 * (UNAUTHENTICATED), when it reaches its maximum lifetime (SUBSCRIPTION_EXPIRED), when the
 * caller is revoked (`endSubscriptionsOf`) or when the upstream fails (SUBGRAPH_UNAVAILABLE).
 */
export function useFederatedSubscriptions(options: FederatedSubscriptionsOptions) {
  const { engine, hub, limits } = options;
  const runtime: SubscriptionRuntime = {
    active: new Set(),
    openBySubject: new Map(),
    engine,
    metrics: options.metrics,
    clock: options.clock,
    logger: options.logger,
  };
  const documentIds = new WeakMap<object, number>();
  let nextDocumentId = 0;
  let nextUnsharedTopic = 0;
  const documentId = (document: object) => {
    let id = documentIds.get(document);
    if (id === undefined) documentIds.set(document, (id = nextDocumentId++));
    return id;
  };

  function subscribe(args: ExecutionArgs): ExecutionResult | AsyncIterableIterator<ExecutionResult> {
    const caller = args.contextValue as UpstreamCaller & { principal: Principal };
    const { principal } = caller;
    if (runtime.active.size >= limits.perProcess) {
      options.metrics.refused('SUBSCRIPTION_LIMIT_EXCEEDED');
      return { errors: [graphqlError('SUBSCRIPTION_LIMIT_EXCEEDED', 'This gateway holds the most subscriptions it may; retry later')] };
    }
    if ((runtime.openBySubject.get(principal.subject) ?? 0) >= limits.perPrincipal) {
      options.metrics.refused('SUBSCRIPTION_LIMIT_EXCEEDED');
      return { errors: [graphqlError('SUBSCRIPTION_LIMIT_EXCEEDED', `At most ${limits.perPrincipal} open subscriptions per caller`)] };
    }
    const plan = engine.planSubscription(args.document, args.operationName);
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    const primaryVariables = Object.fromEntries(plan.variableNames.filter((name) => name in variables).map((name) => [name, variables[name]]));
    const unshared = plan.rootField !== null && options.resumableFields.has(plan.rootField);
    const topic = JSON.stringify([plan.subgraph, plan.query, primaryVariables, principal.subject, principal.scopes, principal.roles, unshared ? nextUnsharedTopic++ : null]);
    const queue = hub.listen(
      topic,
      () => options.upstream.subscribe(plan.subgraph, { query: plan.query, variables: primaryVariables, operationName: plan.operationName }, caller),
      { replayLatest: plan.rootField !== null && options.snapshotFields.has(plan.rootField) },
    );
    const resultKey = JSON.stringify([documentId(args.document), args.operationName ?? null, variables]);
    return new FederatedSubscription(principal, queue, { plan, args, resultKey }, runtime, limits.maxLifetimeMs);
  }

  const plugin: Plugin = {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe as never);
    },
  };
  return {
    plugin,
    /** Subscriptions open on this process now. */
    openSubscriptions: () => runtime.active.size,
    /** Ends every subscription whose caller matches (a revoked session or API key). */
    endSubscriptionsOf(matches: (principal: Principal) => boolean, reason: string) {
      for (const subscription of runtime.active) {
        if (matches(subscription.principal)) subscription.end({ errors: [graphqlError('UNAUTHENTICATED', reason)] }, 'unauthenticated');
      }
    },
  };
}
