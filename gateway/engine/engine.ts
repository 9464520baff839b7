import type { Tracer } from '@opentelemetry/api';
import type { DocumentNode, ExecutionArgs, ExecutionResult, GraphQLSchema } from 'graphql';

import type { Logger } from '../../lib/logger.js';
import type { SubgraphEndpoint, Upstream } from '../upstream/index.js';

/** Where a subscription's events come from: one subscription on the subgraph that owns the root field. */
export interface SubscriptionPlan {
  subgraph: string;
  /** The operation to open on that subgraph. */
  query: string;
  operationName?: string | undefined;
  /** The operation's variables that the subgraph operation uses. */
  variableNames: readonly string[];
  /** The subscribed root field's name (not its alias); null when selected through a fragment. */
  rootField: string | null;
}

/**
 * The one seam through which operations reach the subgraphs, and the only part of the gateway
 * that knows the federation runtime (today `@apollo/gateway` and `@apollo/query-planner`).
 * It loads the supergraph (one per engine; `reloadable.ts` swaps engines on a new one);
 * everything else asks it. Swapping the engine (a faster
 * executor) means writing one new implementation of this interface.
 */
export interface GatewayEngine {
  /** The supergraph's API schema, which clients query. */
  readonly schema: GraphQLSchema;
  readonly subgraphs: readonly SubgraphEndpoint[];
  /** The one way out to those subgraphs, which every fetch of the engine takes. */
  readonly upstream: Upstream;
  /**
   * The name the directive of the linked spec `identity` (e.g. `https://specs.apollo.dev/authenticated`)
   * has in this supergraph, after `@link` renames; null when the supergraph does not link it.
   */
  linkedDirectiveName(identity: string): string | null;
  /**
   * Plans and executes a validated query or mutation. An engine that plans itself wraps the
   * planning in `inSpan(tracer, PHASE_SPANS.plan, …)` (lib/tracing), so a trace shows it apart
   * from the fetches; the Apollo engine cannot (its executor plans inside), so there planning is
   * part of the execute span.
   */
  execute(args: ExecutionArgs): Promise<ExecutionResult>;
  /** Plans a validated subscription operation (cached per parsed document and operation name). */
  planSubscription(document: DocumentNode, operationName: string | null | undefined): SubscriptionPlan;
  /**
   * Turns one event of the plan's upstream subscription into a result of the whole operation:
   * the event as the owning subgraph's answer, then the entity fields from the other subgraphs,
   * with errors and nulls bubbling exactly as for queries.
   */
  resolveEvent(plan: SubscriptionPlan, args: ExecutionArgs, event: ExecutionResult): Promise<ExecutionResult>;
  close(): Promise<void>;
}

/** What every engine is made from. */
export interface EngineOptions {
  /** The composed supergraph SDL to serve. */
  supergraphSdl: string;
  /** Makes the upstream for the subgraphs the supergraph names (see gateway/upstream/). */
  connect: (subgraphs: readonly SubgraphEndpoint[]) => Upstream;
  logger: Logger;
  /** Documents whose plans an engine keeps (engines that cache plans; default theirs). */
  planCacheSize?: number | undefined;
  /** Where the plan span starts (see `execute`); unset: tracing off. */
  tracer?: Tracer | undefined;
}
