import {
  type ExecutionResult,
  getDirectiveValues,
  GraphQLError,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
} from 'graphql';

import { type ConditionalNode, type FieldEntry, type FilterPlan, type ObjectNode, TYPENAME_ALIAS } from './plan.js';

type Variables = Record<string, unknown> | null | undefined;

/** The errors of a plan that this request's `@skip`/`@include` let through, as GraphQL errors. */
export function authorizationErrors(plan: FilterPlan, variables: Variables): GraphQLError[] {
  const errors: GraphQLError[] = [];
  const seen = new Set<string>();
  for (const error of plan.errors) {
    if (!included(error.conditions, variables)) continue;
    const key = `${error.path.join('.')}|${error.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    // A fragment removed at the root has no field to point at: no path then.
    const path = error.path.length > 0 ? { path: [...error.path] } : {};
    errors.push(new GraphQLError(error.message, { ...path, extensions: { code: error.code } }));
  }
  return errors;
}

/** The response when the plan leaves nothing to execute. */
export function resultWithoutExecution(plan: FilterPlan, variables: Variables): ExecutionResult {
  return mergeIntoResult(plan, { data: plan.rootNulled ? null : {} }, variables);
}

/**
 * Puts the plan's nulls into an executed result (null propagating as GraphQL's does), strips
 * the helper `__typename` selections, and puts the authorization errors before the others.
 * Mutates `result.data`, which belongs to this request alone.
 */
export function mergeIntoResult(plan: FilterPlan, result: ExecutionResult, variables: Variables): ExecutionResult {
  let data = result.data as Record<string, unknown> | null | undefined;
  if (data && applyObject(data, plan.root, variables)) data = null;
  const errors = [...authorizationErrors(plan, variables), ...(result.errors ?? [])];
  const merged: ExecutionResult = { ...result, data };
  return errors.length > 0 ? { ...merged, errors } : merged;
}

/** True when the object itself must become null. */
function applyObject(object: Record<string, unknown>, node: ObjectNode, variables: Variables): boolean {
  let typename: unknown;
  if (node.typename) {
    typename = object[TYPENAME_ALIAS];
    delete object[TYPENAME_ALIAS];
  }
  if (node.nullAlways) return true;
  for (const entry of node.entries) {
    if (entry.typeCondition && !(typeof typename === 'string' && entry.typeCondition.has(typename))) continue;
    if (!included(entry.conditions, variables)) continue;
    if (entry.removed) {
      object[entry.key] = null;
      if (entry.nonNull[0]) return true;
      continue;
    }
    const value = object[entry.key];
    if (value === undefined || value === null) continue;
    if (applyValue(value, entry, 0, variables)) {
      object[entry.key] = null;
      if (entry.nonNull[0]) return true;
    }
  }
  return false;
}

/** True when `value` (at list depth `depth` of the entry's type) must become null. */
function applyValue(value: unknown, entry: FieldEntry, depth: number, variables: Variables): boolean {
  if (value === null || value === undefined) return false;
  if (depth < entry.nonNull.length - 1) {
    if (!Array.isArray(value)) return false;
    for (let i = 0; i < value.length; i++) {
      if (applyValue(value[i], entry, depth + 1, variables)) {
        if (entry.nonNull[depth + 1]) return true;
        value[i] = null;
      }
    }
    return false;
  }
  return typeof value === 'object' && entry.child !== null && applyObject(value as Record<string, unknown>, entry.child, variables);
}

function included(conditions: readonly ConditionalNode[], variables: Variables): boolean {
  for (const node of conditions) {
    if (getDirectiveValues(GraphQLSkipDirective, node, variables ?? undefined)?.if === true) return false;
    if (getDirectiveValues(GraphQLIncludeDirective, node, variables ?? undefined)?.if === false) return false;
  }
  return true;
}
