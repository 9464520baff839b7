import { executeQueryPlan, type GraphQLDataSource } from '@apollo/gateway';
import type { ExecutionArgs, ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Principal } from '../../lib/auth/principal.js';
import type { Clock } from '../../lib/clock.js';
import { graphqlError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { SubscriptionHub, HubItem } from '../subscriptions/hub.js';
import type { SubscriptionEnd, SubscriptionMetrics } from '../subscriptions/metrics.js';
import type { SubscriptionPlan, SubscriptionPlanner } from '../subscriptions/planner.js';
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
  metrics: SubscriptionMetrics;
  clock: Clock;
  logger: Logger;
}

/** The reason label of a subscription that ended with a final error event of this code. */
const END_REASONS: Record<string, SubscriptionEnd> = {
  SUBSCRIPTION_EXPIRED: 'expired',
  UNAUTHENTICATED: 'unauthenticated',
  SUBSCRIPTION_LIMIT_EXCEEDED: 'overflow',
};

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
  const openBySubject = new Map<string, number>();
  const active = new Set<{ principal: Principal; end: (result: ExecutionResult) => void }>();
  const documentIds = new WeakMap<object, number>();
  let nextDocumentId = 0;
  const documentId = (document: object) => {
    let id = documentIds.get(document);
    if (id === undefined) documentIds.set(document, (id = nextDocumentId++));
    return id;
  };

  function subscribe(args: ExecutionArgs): ExecutionResult | AsyncIterableIterator<ExecutionResult> {
    const { principal, identityHeader } = args.contextValue as AuthContext;
    if (active.size >= limits.perProcess) {
      options.metrics.refused('SUBSCRIPTION_LIMIT_EXCEEDED');
      return { errors: [graphqlError('SUBSCRIPTION_LIMIT_EXCEEDED', 'This gateway holds the most subscriptions it may; retry later')] };
    }
    const held = openBySubject.get(principal.subject) ?? 0;
    if (held >= limits.perPrincipal) {
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
    );
    const resultKey = JSON.stringify([documentId(args.document), args.operationName ?? null, variables]);
    const handle = {
      principal,
      end: (result: ExecutionResult) => {
        queue.push({ kind: 'final', result });
        queue.end();
      },
    };
    active.add(handle);
    openBySubject.set(principal.subject, held + 1);
    options.metrics.started();
    const startedAt = options.clock.now().getTime();

    // One timer per subscription, for whichever comes first: its maximum lifetime or its token's expiry.
    const tokenExpiresAt = principal.credentialExpiresAt ? new Date(principal.credentialExpiresAt).getTime() : Infinity;
    const tokenFirst = tokenExpiresAt < startedAt + limits.maxLifetimeMs;
    const deadline = setTimeout(
      () =>
        handle.end({
          errors: [
            tokenFirst
              ? graphqlError('UNAUTHENTICATED', 'The access token expired; subscribe again with a fresh one')
              : graphqlError('SUBSCRIPTION_EXPIRED', 'The subscription reached its maximum lifetime; subscribe again'),
          ],
        }),
      Math.max(0, tokenFirst ? tokenExpiresAt - startedAt : limits.maxLifetimeMs),
    );
    deadline.unref();

    let endReason: SubscriptionEnd = 'completed';
    const release = (reason: SubscriptionEnd) => {
      if (!active.delete(handle)) return;
      clearTimeout(deadline);
      options.metrics.ended(reason, (options.clock.now().getTime() - startedAt) / 1000);
      const remaining = (openBySubject.get(principal.subject) ?? 1) - 1;
      if (remaining === 0) openBySubject.delete(principal.subject);
      else openBySubject.set(principal.subject, remaining);
    };

    const toResult = async (item: HubItem): Promise<ExecutionResult> => {
      if (item.kind === 'final') {
        endReason = END_REASONS[String(item.result.errors?.[0]?.extensions?.code)] ?? 'completed';
        return item.result;
      }
      if (item.kind === 'failed') {
        endReason = 'upstream_failed';
        options.logger.warn({ err: item.error, subgraph }, 'upstream subscription failed');
        return { errors: [graphqlError('SUBGRAPH_UNAVAILABLE', `Subgraph "${subgraph}" is unavailable`, { serviceName: subgraph })] };
      }
      let resolved = item.event.resolved.get(resultKey);
      if (!resolved) {
        resolved = executeEvent(plan, item.event.result, args, options);
        item.event.resolved.set(resultKey, resolved);
      }
      const result = await resolved;
      options.metrics.delivered((result.errors?.length ?? 0) > 0);
      return result;
    };

    const stream: AsyncIterableIterator<ExecutionResult> = {
      [Symbol.asyncIterator]() {
        return stream;
      },
      async next() {
        const item = await queue.next();
        if (item.done) {
          release(endReason);
          return { done: true, value: undefined };
        }
        return { done: false, value: await toResult(item.value) };
      },
      async return() {
        release('cancelled');
        await queue.return?.();
        return { done: true, value: undefined };
      },
    };
    return stream;
  }

  const plugin: Plugin = {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe as never);
    },
  };
  return {
    plugin,
    /** Subscriptions open on this process now. */
    openSubscriptions: () => active.size,
    /** Ends every subscription whose caller matches (a revoked session or API key). */
    endSubscriptionsOf(matches: (principal: Principal) => boolean, reason: string) {
      for (const handle of active) {
        if (matches(handle.principal)) handle.end({ errors: [graphqlError('UNAUTHENTICATED', reason)] });
      }
    },
  };
}

/** Runs the event plan: the primary fetch answered from the event, then the entity fetches. */
async function executeEvent(
  plan: SubscriptionPlan,
  event: ExecutionResult,
  args: ExecutionArgs,
  options: FederatedSubscriptionsOptions,
): Promise<ExecutionResult> {
  const owner = plan.primary.serviceName;
  let replayed = false;
  const replayFirst: GraphQLDataSource = {
    process: (request) => {
      if (replayed) return options.dataSources[owner]!.process(request);
      replayed = true;
      return Promise.resolve({ data: event.data ?? null, errors: event.errors } as never);
    },
  };
  const requestContext = {
    request: { query: plan.primary.operation, variables: args.variableValues ?? {}, operationName: args.operationName ?? undefined },
    context: args.contextValue,
    document: args.document,
    operationName: args.operationName ?? null,
    metrics: {},
    logger: {
      debug: () => {},
      info: () => {},
      warn: (message: string) => options.logger.warn(message),
      error: (message: string) => options.logger.error(message),
    },
  };
  const result = await executeQueryPlan(
    plan.eventPlan,
    { ...options.dataSources, [owner]: replayFirst },
    requestContext as never,
    plan.operationContext,
    options.planner.supergraphSchema,
    options.planner.apiSchema,
  );
  return result as ExecutionResult;
}
