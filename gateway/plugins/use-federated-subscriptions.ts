import type { GraphQLDataSource } from '@apollo/gateway';
import type { ExecutionArgs, ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Principal } from '../../lib/auth/principal.js';
import type { Clock } from '../../lib/clock.js';
import { graphqlError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { FederatedSubscription, type SubscriptionRuntime } from '../subscriptions/federated-subscription.js';
import type { SubscriptionHub } from '../subscriptions/hub.js';
import type { SubscriptionMetrics } from '../subscriptions/metrics.js';
import type { SubscriptionPlanner } from '../subscriptions/planner.js';
import { openUpstream, type UpstreamProtocol } from '../subscriptions/upstream.js';
import type { AuthContext } from './use-auth.js';

export interface SubscriptionLimits {
  /** Open subscriptions one principal may hold on this gateway process. */
  perPrincipal: number;
  /** Open subscriptions this gateway process holds in all. */
  perProcess: number;
  /** A subscription ends (SUBSCRIPTION_EXPIRED) after this long; clients resubscribe. */
  maxLifetimeMs: number;
  /** WebSocket keep-alive towards subgraphs. */
  upstreamKeepAliveMs: number;
}

export interface FederatedSubscriptionsOptions {
  planner: SubscriptionPlanner;
  hub: SubscriptionHub;
  /** The gateway's data sources by subgraph name: entity fetches for events go through them. */
  dataSources: Record<string, GraphQLDataSource>;
  subgraphUrls: Record<string, string>;
  protocolOf: (subgraph: string) => UpstreamProtocol;
  limits: SubscriptionLimits;
  /**
   * Root subscription fields whose events are snapshots of state: a subscriber that joins a
   * shared upstream gets its latest event at once (see hub.ts).
   */
  snapshotFields: ReadonlySet<string>;
  metrics: SubscriptionMetrics;
  clock: Clock;
  logger: Logger;
}

/**
 * Executes subscription operations, which `@apollo/gateway` cannot: the owning subgraph's
 * subscription (`primary` of the plan) is opened upstream over graphql-ws or SSE, shared by
 * every identical subscription of the same caller (see hub.ts), and each event runs the rest
 * of the plan (entity fetches to other subgraphs) through `executeQueryPlan`, so errors and
 * nulls bubble exactly as for queries. Identical documents share one execution per event.
 *
 * A subscription ends with a final error event when the caller's token expires
 * (UNAUTHENTICATED), when it reaches its maximum lifetime (SUBSCRIPTION_EXPIRED), when the
 * caller is revoked (`endSubscriptionsOf`) or when the upstream fails (SUBGRAPH_UNAVAILABLE).
 */
export function useFederatedSubscriptions(options: FederatedSubscriptionsOptions) {
  const { planner, hub, limits } = options;
  const runtime: SubscriptionRuntime = {
    active: new Set(),
    openBySubject: new Map(),
    planner,
    dataSources: options.dataSources,
    metrics: options.metrics,
    clock: options.clock,
    logger: options.logger,
  };
  const documentIds = new WeakMap<object, number>();
  let nextDocumentId = 0;
  const documentId = (document: object) => {
    let id = documentIds.get(document);
    if (id === undefined) documentIds.set(document, (id = nextDocumentId++));
    return id;
  };

  function subscribe(args: ExecutionArgs): ExecutionResult | AsyncIterableIterator<ExecutionResult> {
    const { principal, identityHeader } = args.contextValue as AuthContext;
    if (runtime.active.size >= limits.perProcess) {
      options.metrics.refused('SUBSCRIPTION_LIMIT_EXCEEDED');
      return { errors: [graphqlError('SUBSCRIPTION_LIMIT_EXCEEDED', 'This gateway holds the most subscriptions it may; retry later')] };
    }
    if ((runtime.openBySubject.get(principal.subject) ?? 0) >= limits.perPrincipal) {
      options.metrics.refused('SUBSCRIPTION_LIMIT_EXCEEDED');
      return { errors: [graphqlError('SUBSCRIPTION_LIMIT_EXCEEDED', `At most ${limits.perPrincipal} open subscriptions per caller`)] };
    }
    const plan = planner.plan(args.document, args.operationName);
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    const primaryVariables = Object.fromEntries(
      (plan.primary.variableUsages ?? []).filter((name) => name in variables).map((name) => [name, variables[name]]),
    );
    const subgraph = plan.primary.serviceName;
    const topic = JSON.stringify([subgraph, plan.primary.operation, primaryVariables, principal.subject, principal.scopes, principal.roles]);
    const queue = hub.listen(topic, () =>
      openUpstream({
        url: options.subgraphUrls[subgraph]!,
        protocol: options.protocolOf(subgraph),
        identityHeader,
        query: plan.primary.operation,
        variables: primaryVariables,
        operationName: plan.primary.operationName,
        keepAliveMs: limits.upstreamKeepAliveMs,
      }),
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
        if (matches(subscription.principal)) subscription.end({ errors: [graphqlError('UNAUTHENTICATED', reason)] });
      }
    },
  };
}
