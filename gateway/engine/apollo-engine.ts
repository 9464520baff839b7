import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { ApolloGateway, buildOperationContext, executeQueryPlan, type GraphQLDataSource } from '@apollo/gateway';
import { type FetchNode, type PlanNode, type QueryPlan, QueryPlanner } from '@apollo/query-planner';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import { type DocumentNode, type ExecutionResult, getOperationAST, type GraphQLSchema, print } from 'graphql';

import type { Logger } from '../../lib/logger.js';
import { inSpan, PHASE_SPANS } from '../../lib/tracing/spans.js';
import { upstreamDataSource } from './data-source.js';
import type { EngineOptions, GatewayEngine, SubscriptionPlan } from './engine.js';
import { linkedDirectiveNameIn, rootFieldOf } from './supergraph-links.js';

/** What resolving a subscription's events needs, kept beside the engine-neutral plan. */
interface ApolloSubscriptionPlan {
  /** What each event runs: the primary fetch replayed from the event, then the entity fetches. */
  eventPlan: QueryPlan;
  operationContext: ReturnType<typeof buildOperationContext>;
}

/**
 * The engine on `@apollo/gateway`: queries and mutations through `ApolloGateway.executor`
 * (query plans cached by the gateway); subscriptions, which it cannot execute, planned with
 * `@apollo/query-planner` (`{ kind: 'Subscription', primary, rest }`) and each event resolved
 * with `executeQueryPlan`. Every subgraph call goes through `upstream`.
 */
export async function createApolloEngine(options: EngineOptions): Promise<GatewayEngine> {
  const supergraph = Supergraph.build(options.supergraphSdl);
  const subgraphs = [...supergraph.subgraphs().values()].map((s) => ({ name: s.name, url: s.url }));
  const upstream = options.connect(subgraphs);
  const dataSources: Record<string, GraphQLDataSource> = Object.fromEntries(subgraphs.map(({ name }) => [name, upstreamDataSource(upstream, name)]));
  const logger = apolloLogger(options.logger);
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    logger: { ...logger, debug: () => {}, info: () => {} },
    buildService: ({ name }) => dataSources[name]!,
  });
  const { schema } = await gateway.load();
  const apiSchema = supergraph.apiSchema();
  const supergraphSchema: GraphQLSchema = supergraph.schema.toGraphQLJSSchema();
  const planner = new QueryPlanner(supergraph);
  const printed = new WeakMap<DocumentNode, string>();
  const cache = new InMemoryLRUCache();
  const plans = new WeakMap<DocumentNode, Map<string, SubscriptionPlan>>();
  const internals = new WeakMap<SubscriptionPlan, ApolloSubscriptionPlan>();
  const apiGraphqlSchema = apiSchema.toGraphQLJSSchema();

  return {
    schema,
    subgraphs,
    upstream,
    linkedDirectiveName: linkedDirectiveNameIn(options.supergraphSdl),

    async execute(args) {
      // Memoised per document object: Yoga reuses parsed documents from its parse cache.
      let source = printed.get(args.document);
      if (source === undefined) {
        source = print(args.document);
        printed.set(args.document, source);
      }
      const operation = getOperationAST(args.document, args.operationName ?? undefined);
      if (!operation) throw new Error('operation not found in a validated document');
      const result = await gateway.executor({
        document: args.document,
        request: {
          query: source,
          operationName: args.operationName ?? undefined,
          variables: (args.variableValues ?? undefined) as Record<string, unknown> | undefined,
        },
        operationName: args.operationName ?? null,
        operation,
        source,
        queryHash: source,
        schema: args.schema,
        context: args.contextValue as Record<string, unknown>,
        cache,
        logger,
        metrics: {},
      } as unknown as Parameters<ApolloGateway['executor']>[0]);
      return result as ExecutionResult;
    },

    planSubscription(document, operationName) {
      const key = operationName ?? '';
      let byName = plans.get(document);
      const cached = byName?.get(key);
      if (cached) return cached;
      const operation = operationFromDocument(apiSchema, document, { operationName: operationName ?? undefined });
      const node = inSpan(options.tracer, PHASE_SPANS.plan, () => planner.buildQueryPlan(operation).node);
      if (node?.kind !== 'Subscription') throw new Error('not a subscription operation');
      const primary: FetchNode = node.primary;
      const eventNode: PlanNode = node.rest ? { kind: 'Sequence', nodes: [primary, node.rest] } : primary;
      const plan: SubscriptionPlan = {
        subgraph: primary.serviceName,
        query: primary.operation,
        operationName: primary.operationName,
        variableNames: primary.variableUsages ?? [],
        rootField: rootFieldOf(document, operationName),
      };
      internals.set(plan, {
        eventPlan: { kind: 'QueryPlan', node: eventNode },
        operationContext: buildOperationContext({ schema: apiGraphqlSchema, operationDocument: document, operationName: operationName ?? undefined }),
      });
      if (!byName) plans.set(document, (byName = new Map()));
      byName.set(key, plan);
      return plan;
    },

    async resolveEvent(plan, args, event) {
      const { eventPlan, operationContext } = internals.get(plan)!;
      const owner = plan.subgraph;
      let replayed = false;
      // The plan's first fetch is the subscription itself: answered by the event, not the subgraph.
      const replayFirst: GraphQLDataSource = {
        process: (request) => {
          if (replayed) return dataSources[owner]!.process(request);
          replayed = true;
          return Promise.resolve({ data: event.data ?? null, errors: event.errors } as never);
        },
      };
      const requestContext = {
        request: { query: plan.query, variables: args.variableValues ?? {}, operationName: args.operationName ?? undefined },
        context: args.contextValue,
        document: args.document,
        operationName: args.operationName ?? null,
        metrics: {},
        logger: { ...logger, debug: () => {}, info: () => {} },
      };
      const result = await executeQueryPlan(
        eventPlan,
        { ...dataSources, [owner]: replayFirst },
        requestContext as never,
        operationContext,
        supergraphSchema,
        apiSchema,
      );
      return result as ExecutionResult;
    },

    close: () => gateway.stop(),
  };
}

/** Apollo's logger interface over ours (messages only: Apollo logs strings). */
function apolloLogger(logger: Logger) {
  return {
    debug: (message: unknown) => logger.debug(String(message)),
    info: (message: unknown) => logger.info(String(message)),
    warn: (message: unknown) => logger.warn(String(message)),
    error: (message: unknown) => logger.error(String(message)),
  };
}
