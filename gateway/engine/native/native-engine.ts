import { Supergraph } from '@apollo/federation-internals';
import { type FetchNode, type PlanNode, QueryPlanner } from '@apollo/query-planner';
import { type DocumentNode, type ExecutionArgs, type ExecutionResult, getVariableValues, GraphQLError, type GraphQLSchema } from 'graphql';

import { inSpan, PHASE_SPANS } from '../../../lib/tracing/spans.js';
import type { Upstream, UpstreamCaller } from '../../upstream/index.js';
import type { EngineOptions, GatewayEngine, SubscriptionPlan } from '../engine.js';
import { linkedDirectiveNameIn, rootFieldOf } from '../supergraph-links.js';
import { executePlan, type PlanExecution } from './interpreter.js';
import { type CompiledOperation, PlanCache, projectionFor } from './plan-cache.js';
import { shapeResponse } from './projection.js';
import { fieldsRequiredWithArguments } from './requires-aliases.js';

/** @default 1024 // documents whose plans and projections are kept; a deployment's distinct operations usually fit. */
export const DEFAULT_PLAN_CACHE_SIZE = 1024;

/** What resolving a subscription's events needs, kept beside the engine-neutral plan. */
interface NativeSubscriptionPlan {
  compiled: CompiledOperation;
  primary: FetchNode;
  /** The primary fetch (answered by the event), then the entity fetches. */
  eventPlan: PlanNode;
}

/**
 * The gateway's own executor: plans from `@apollo/query-planner` (cached with a compiled
 * projection of the client's operation per document), interpreted directly on the subgraphs'
 * JSON answers, merged in place, then shaped into the client's response in one walk. Answers
 * are those of `@apollo/gateway`'s executor (same merge, error paths, null bubbling); it
 * exists because that executor is the gateway's bottleneck. Every fetch goes through `upstream`.
 */
export async function createNativeEngine(options: EngineOptions): Promise<GatewayEngine> {
  const supergraph = Supergraph.build(options.supergraphSdl);
  const subgraphs = [...supergraph.subgraphs().values()].map((s) => ({ name: s.name, url: s.url }));
  const upstream = options.connect(subgraphs);
  const apiSchema = supergraph.apiSchema();
  const schema = apiSchema.toGraphQLJSSchema();
  const supergraphSchema = supergraph.schema.toGraphQLJSSchema();
  const cache = new PlanCache(
    new QueryPlanner(supergraph),
    apiSchema,
    schema,
    options.planCacheSize ?? DEFAULT_PLAN_CACHE_SIZE,
    fieldsRequiredWithArguments(options.supergraphSdl),
  );
  const subscriptionPlans = new WeakMap<CompiledOperation, SubscriptionPlan>();
  const internals = new WeakMap<SubscriptionPlan, NativeSubscriptionPlan>();
  const runtime: Runtime = { schema, supergraphSchema, upstream };
  // A span per operation, also when the plan was cached, so a trace shows every phase.
  const planned = (document: DocumentNode, operationName: string | null | undefined) => inSpan(options.tracer, PHASE_SPANS.plan, () => cache.get(document, operationName));

  return {
    schema,
    subgraphs,
    upstream,
    linkedDirectiveName: linkedDirectiveNameIn(options.supergraphSdl),

    async execute(args) {
      const compiled = planned(args.document, args.operationName);
      if (compiled.plan?.kind === 'Subscription') throw new Error('Execution of subscriptions not supported by gateway');
      const variables = (args.variableValues ?? {}) as Record<string, unknown>;
      const definitions = compiled.operation.variableDefinitions;
      if (definitions && definitions.length > 0) {
        const { errors } = getVariableValues(schema, definitions, variables);
        if (errors) return { errors };
      }
      return run(runtime, compiled, compiled.plan, args, null, null);
    },

    planSubscription(document, operationName) {
      const compiled = planned(document, operationName);
      const cached = subscriptionPlans.get(compiled);
      if (cached) return cached;
      const node = compiled.plan;
      if (node?.kind !== 'Subscription') throw new Error('not a subscription operation');
      const plan: SubscriptionPlan = {
        subgraph: node.primary.serviceName,
        query: node.primary.operation,
        operationName: node.primary.operationName,
        variableNames: node.primary.variableUsages ?? [],
        rootField: rootFieldOf(document, operationName),
      };
      const eventPlan: PlanNode = node.rest ? { kind: 'Sequence', nodes: [node.primary, node.rest] } : node.primary;
      internals.set(plan, { compiled, primary: node.primary, eventPlan });
      subscriptionPlans.set(compiled, plan);
      return plan;
    },

    resolveEvent(plan, args, event) {
      const { compiled, primary, eventPlan } = internals.get(plan)!;
      return run(runtime, compiled, eventPlan, args, primary, event);
    },

    close: () => Promise.resolve(),
  };
}

/** What every execution of this engine shares. */
interface Runtime {
  schema: GraphQLSchema;
  supergraphSchema: GraphQLSchema;
  upstream: Upstream;
}

/**
 * Executes `plan` and shapes the response. As `@apollo/gateway`: fetch errors are the
 * response's errors; shaping errors (a null where the schema forbids one) are reported only
 * when no fetch failed, under `extensions.valueCompletion`, since a failed fetch explains them.
 */
async function run(
  runtime: Runtime,
  compiled: CompiledOperation,
  plan: PlanNode | undefined,
  args: ExecutionArgs,
  replay: FetchNode | null,
  replayed: ExecutionResult | null,
): Promise<ExecutionResult> {
  const variables = (args.variableValues ?? {}) as Record<string, unknown>;
  const execution: PlanExecution = {
    supergraph: runtime.supergraphSchema,
    upstream: runtime.upstream,
    caller: args.contextValue as UpstreamCaller,
    variables,
    variableDefaults: compiled.variableDefaults,
    data: {},
    errors: [],
    replay,
    replayed,
  };
  if (plan) await executePlan(execution, plan);
  try {
    const projection = projectionFor(runtime.schema, compiled, variables);
    const introspection = { schema: runtime.schema, variableDefinitions: compiled.operation.variableDefinitions ?? [], variables };
    const { data, errors } = shapeResponse(projection, execution.data, introspection);
    if (execution.errors.length > 0) return { errors: execution.errors, data };
    return errors.length > 0 ? { extensions: { valueCompletion: errors }, data } : { data };
  } catch (error) {
    return { errors: [error instanceof GraphQLError ? error : new GraphQLError((error as Error).message, { originalError: error as Error })] };
  }
}
