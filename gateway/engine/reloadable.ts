import type { GraphQLSchema } from 'graphql';

import type { Upstream } from '../upstream/index.js';
import type { EngineOptions, GatewayEngine, SubscriptionPlan } from './engine.js';

/** An engine whose supergraph can be replaced while it serves. */
export interface ReloadableEngine extends GatewayEngine {
  /**
   * Loads `supergraphSdl` into a new engine and makes it current; rejects, keeping the current
   * one, when it does not load or names other subgraphs or URLs (those need a restart: the
   * authenticator and health probes hold the upstream). Operations already running, and open
   * subscriptions, finish on the engine they started on.
   */
  reload(supergraphSdl: string): Promise<void>;
  /** Called with the new API schema after each reload (Yoga's `setSchema`). */
  onSchemaChange(listener: (schema: GraphQLSchema) => void): void;
}

/**
 * The engine seam with hot reload: each operation is executed by the engine whose schema it
 * was validated against (`args.schema`), and each subscription's events are resolved by the
 * engine that planned it, so a swap drops nothing in flight; new operations see the new schema.
 */
export async function createReloadableEngine(options: EngineOptions, create: (options: EngineOptions) => Promise<GatewayEngine>): Promise<ReloadableEngine> {
  let current = await create(options);
  const upstream: Upstream = current.upstream;
  const bySchema = new WeakMap<GraphQLSchema, GatewayEngine>([[current.schema, current]]);
  const byPlan = new WeakMap<SubscriptionPlan, GatewayEngine>();
  const retired: GatewayEngine[] = [];
  const listeners: ((schema: GraphQLSchema) => void)[] = [];
  const endpoints = (engine: Pick<GatewayEngine, 'subgraphs'>) => JSON.stringify(engine.subgraphs.map(({ name, url }) => [name, url]).sort());

  return {
    get schema() {
      return current.schema;
    },
    get subgraphs() {
      return current.subgraphs;
    },
    upstream,
    linkedDirectiveName: (identity) => current.linkedDirectiveName(identity),
    execute: (args) => (bySchema.get(args.schema) ?? current).execute(args),
    planSubscription(document, operationName) {
      const engine = current;
      const plan = engine.planSubscription(document, operationName);
      byPlan.set(plan, engine);
      return plan;
    },
    resolveEvent: (plan, args, event) => (byPlan.get(plan) ?? current).resolveEvent(plan, args, event),
    async reload(supergraphSdl) {
      // The new engine reaches the subgraphs through the same upstream (one policy, one histogram).
      const next = await create({ ...options, supergraphSdl, connect: () => upstream });
      if (endpoints(next) !== endpoints(current)) {
        await next.close();
        throw new Error('the new supergraph names other subgraphs or URLs; restart the gateway to apply it');
      }
      bySchema.set(next.schema, next);
      retired.push(current);
      current = next;
      for (const listener of listeners) listener(next.schema);
    },
    onSchemaChange: (listener) => void listeners.push(listener),
    async close() {
      for (const engine of [...retired, current]) await engine.close();
    },
  };
}
