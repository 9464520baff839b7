import type { FetchNode, PlanNode } from '@apollo/query-planner';
import type { ExecutionResult, GraphQLError, GraphQLSchema } from 'graphql';

import type { Upstream, UpstreamCaller } from '../../upstream/index.js';
import { applyRewrites, collectAtPath, deepMerge, type JsonObject, RepresentationIndex } from './entities.js';
import { downstreamError, type PlanPath, type SubgraphError } from './errors.js';

/** What one execution of a plan reads and writes; plain data, one per request. */
export interface PlanExecution {
  /** The supergraph schema (type conditions in `requires`, rewrites and paths are by its types). */
  supergraph: GraphQLSchema;
  upstream: Upstream;
  caller: UpstreamCaller;
  /** The request's variables as the client sent them (Apollo forwards them uncoerced too). */
  variables: Record<string, unknown>;
  /** Default values of the operation's variables, for Condition nodes. */
  variableDefaults: Record<string, unknown>;
  /** The response data being built; every fetch merges into it in place. */
  data: JsonObject;
  errors: GraphQLError[];
  /** A fetch answered by `replayed` instead of its subgraph: a subscription's primary fetch, answered by the event. */
  replay: FetchNode | null;
  replayed: ExecutionResult | null;
}

/** Where a node runs: the objects at `path` (from the root), as Apollo's executor's cursor. */
interface Cursor {
  path: PlanPath;
  objects: JsonObject[];
}

/**
 * Runs a query plan on `execution.data`. Fetch failures become errors in `execution.errors`
 * and leave their fields missing (null in the response); nothing here throws for a subgraph.
 * Defer nodes never appear: the planner is built without `@defer` support (its default).
 */
export function executePlan(execution: PlanExecution, node: PlanNode): Promise<void> {
  return executeNode(execution, node, { path: [], objects: [execution.data] });
}

async function executeNode(execution: PlanExecution, node: PlanNode, cursor: Cursor): Promise<void> {
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await executeNode(execution, child, cursor);
      return;
    case 'Parallel': {
      const running: Promise<void>[] = [];
      for (const child of node.nodes) running.push(executeNode(execution, child, cursor));
      await Promise.all(running);
      return;
    }
    case 'Flatten': {
      const objects: JsonObject[] = [];
      for (const object of cursor.objects) collectAtPath(execution.supergraph, object, node.path, 0, objects, null, []);
      if (objects.length === 0) return;
      await executeNode(execution, node.node, { path: [...cursor.path, ...node.path], objects });
      return;
    }
    case 'Fetch':
      try {
        await executeFetch(execution, node, cursor);
      } catch (error) {
        execution.errors.push(error as GraphQLError);
      }
      return;
    case 'Condition': {
      const branch = conditionValue(execution, node.condition) ? node.ifClause : node.elseClause;
      if (branch) await executeNode(execution, branch, cursor);
      return;
    }
    case 'Defer':
      throw new Error('@defer is not enabled in the query planner');
  }
}

function conditionValue(execution: PlanExecution, variable: string): boolean {
  const value = Object.hasOwn(execution.variables, variable) ? execution.variables[variable] : undefined;
  return (value === undefined ? execution.variableDefaults[variable] : value) === true;
}

async function executeFetch(execution: PlanExecution, fetch: FetchNode, cursor: Cursor): Promise<void> {
  const variables: Record<string, unknown> = {};
  for (const name of fetch.variableUsages ?? []) {
    const value = Object.hasOwn(execution.variables, name) ? execution.variables[name] : undefined;
    if (value !== undefined) variables[name] = value;
  }
  if (!fetch.requires) {
    const result = await send(execution, fetch, variables);
    if (result.errors) reportErrors(execution, fetch, cursor, result.errors, null);
    const data = result.data as JsonObject | null | undefined;
    if (!data) return;
    applyRewrites(execution.supergraph, fetch.outputRewrites, data);
    for (const object of cursor.objects) deepMerge(object, data);
    return;
  }
  // Entities that share a representation are asked for once; the answer merges into each.
  const index = new RepresentationIndex(execution.supergraph, fetch.requires, fetch.inputRewrites);
  for (let i = 0; i < cursor.objects.length; i++) index.add(cursor.objects[i]!, i);
  const { representations, owners } = index;
  if (representations.length === 0) return;
  if ('representations' in variables) throw new Error('Variables cannot contain key "representations"');
  variables.representations = representations;
  const result = await send(execution, fetch, variables);
  if (result.errors) reportErrors(execution, fetch, cursor, result.errors, owners);
  const data = result.data as JsonObject | null | undefined;
  if (!data) return;
  const entities = data._entities;
  if (!Array.isArray(entities)) throw new Error('Expected "data._entities" in response to be an array');
  if (entities.length !== representations.length) throw new Error(`Expected "data._entities" to contain ${representations.length} elements`);
  for (let i = 0; i < entities.length; i++) {
    const entity = entities[i] as JsonObject | null;
    if (!entity) continue;
    const targets = owners[i]!;
    if (!entity.__typename) entity.__typename = cursor.objects[targets[0]!]!.__typename;
    applyRewrites(execution.supergraph, fetch.outputRewrites, entity);
    for (const target of targets) deepMerge(cursor.objects[target]!, entity);
  }
}

/** One fetch on its subgraph (or the replayed event); queries are marked safe to share with identical in-flight fetches. */
function send(execution: PlanExecution, fetch: FetchNode, variables: Record<string, unknown>): Promise<ExecutionResult> {
  if (fetch === execution.replay && execution.replayed) {
    const event = execution.replayed;
    // The event answers this fetch once; a second pass (none today) would go to the subgraph.
    execution.replayed = null;
    return Promise.resolve({ data: event.data ?? null, errors: event.errors });
  }
  return execution.upstream.execute(
    fetch.serviceName,
    { query: fetch.operation, variables, operationName: fetch.operationName },
    execution.caller,
    { dedupe: fetch.operationKind === 'query' },
  );
}

/**
 * A subgraph's errors with paths in the client's response: `_entities.N.rest` becomes the
 * path of every entity that representation N stood for, followed by `rest`; other paths are
 * prefixed with the fetch's position.
 */
function reportErrors(execution: PlanExecution, fetch: FetchNode, cursor: Cursor, errors: readonly unknown[], owners: number[][] | null): void {
  let entityPaths: (string | number)[][] | null = null;
  for (const raw of errors) {
    const error = raw as SubgraphError;
    const path = error.path;
    if (owners && path && typeof path[1] === 'number') {
      if (!entityPaths) {
        entityPaths = [];
        collectAtPath(execution.supergraph, execution.data, cursor.path, 0, [], entityPaths, []);
      }
      const targets = owners[path[1]];
      if (!targets) {
        execution.errors.push(downstreamError(error, fetch.serviceName, path.slice(2)));
        continue;
      }
      for (const target of targets) execution.errors.push(downstreamError(error, fetch.serviceName, [...(entityPaths[target] ?? []), ...path.slice(2)]));
    } else {
      execution.errors.push(downstreamError(error, fetch.serviceName, path ? [...cursor.path, ...path] : undefined));
    }
  }
}
