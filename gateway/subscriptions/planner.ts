import { buildOperationContext, type ServiceEndpointDefinition } from '@apollo/gateway';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import { getOperationAST, Kind, type DocumentNode, type GraphQLSchema } from 'graphql';

export interface SubscriptionPlan {
  /** The subscription to open on the subgraph that owns the root field. */
  primary: FetchNode;
  /** What each event runs: the primary fetch replayed from the event, then `rest` (entity fetches). */
  eventPlan: QueryPlan;
  operationContext: ReturnType<typeof buildOperationContext>;
  /** The subscribed root field's name (not its alias); null when selected through a fragment. */
  rootField: string | null;
}

/**
 * Plans subscription operations with `@apollo/query-planner` (which `@apollo/gateway` cannot
 * execute for subscriptions: its plan is `{ kind: 'Subscription', primary, rest }`). Plans are
 * cached per parsed document and operation name; Yoga reuses parsed documents.
 */
export function createSubscriptionPlanner(supergraphSdl: string) {
  const supergraph = Supergraph.build(supergraphSdl);
  const apiSchema = supergraph.apiSchema();
  const supergraphSchema: GraphQLSchema = supergraph.schema.toGraphQLJSSchema();
  const planner = new QueryPlanner(supergraph);
  const cache = new WeakMap<DocumentNode, Map<string, SubscriptionPlan>>();
  const apiGraphqlSchema = apiSchema.toGraphQLJSSchema();
  const endpoints: ServiceEndpointDefinition[] = [...supergraph.subgraphs().values()].map((s) => ({ name: s.name, url: s.url }));

  return {
    apiSchema,
    supergraphSchema,
    endpoints,
    plan(document: DocumentNode, operationName: string | null | undefined): SubscriptionPlan {
      const key = operationName ?? '';
      let byName = cache.get(document);
      const cached = byName?.get(key);
      if (cached) return cached;
      const operation = operationFromDocument(apiSchema, document, { operationName: operationName ?? undefined });
      const queryPlan = planner.buildQueryPlan(operation);
      const node = queryPlan.node;
      if (node?.kind !== 'Subscription') throw new Error('not a subscription operation');
      const eventNode: PlanNode = node.rest ? { kind: 'Sequence', nodes: [node.primary, node.rest] } : node.primary;
      const plan: SubscriptionPlan = {
        primary: node.primary,
        eventPlan: { kind: 'QueryPlan', node: eventNode },
        operationContext: buildOperationContext({ schema: apiGraphqlSchema, operationDocument: document, operationName: operationName ?? undefined }),
        rootField: rootFieldOf(document, operationName),
      };
      if (!byName) cache.set(document, (byName = new Map()));
      byName.set(key, plan);
      return plan;
    },
  };
}

export type SubscriptionPlanner = ReturnType<typeof createSubscriptionPlanner>;

/** A subscription selects exactly one root field (validation ensures it). */
function rootFieldOf(document: DocumentNode, operationName: string | null | undefined): string | null {
  const selection = getOperationAST(document, operationName)?.selectionSet.selections[0];
  return selection?.kind === Kind.FIELD ? selection.name.value : null;
}
