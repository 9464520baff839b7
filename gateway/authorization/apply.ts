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
 * Copies what it changes and leaves `result.data` as it was: with INBOUND_DEDUPLICATION several
 * requests hold the same executed data (gateway/inbound-dedup/).
 */
export function mergeIntoResult(plan: FilterPlan, result: ExecutionResult, variables: Variables): ExecutionResult {
  let data = result.data as Record<string, unknown> | null | undefined;
  if (data) {
    const applied = applyObject(data, plan.root, variables);
    data = applied === NULLED ? null : applied;
  }
  const errors = [...authorizationErrors(plan, variables), ...(result.errors ?? [])];
  const merged: ExecutionResult = { ...result, data };
  return errors.length > 0 ? { ...merged, errors } : merged;
}

/** A value that must become null (propagating up to the nearest nullable position). */
const NULLED = Symbol('nulled');

/** The object with the plan applied: itself when nothing changed, else a copy; NULLED when it must become null. */
function applyObject(object: Record<string, unknown>, node: ObjectNode, variables: Variables): Record<string, unknown> | typeof NULLED {
  if (node.nullAlways) return NULLED;
  let applied = object;
  const write = (key: string, value: unknown) => {
    if (applied === object) applied = { ...object };
    applied[key] = value;
  };
  let typename: unknown;
  if (node.typename) {
    typename = object[TYPENAME_ALIAS];
    if (Object.hasOwn(object, TYPENAME_ALIAS)) {
      applied = { ...object };
      delete applied[TYPENAME_ALIAS];
    }
  }
  for (const entry of node.entries) {
    if (entry.typeCondition && !(typeof typename === 'string' && entry.typeCondition.has(typename))) continue;
    if (!included(entry.conditions, variables)) continue;
    if (entry.removed) {
      if (entry.nonNull[0]) return NULLED;
      write(entry.key, null);
      continue;
    }
    const value = object[entry.key];
    const next = applyValue(value, entry, 0, variables);
    if (next === value) continue;
    if (next === NULLED && entry.nonNull[0]) return NULLED;
    write(entry.key, next === NULLED ? null : next);
  }
  return applied;
}

/** `value` (at list depth `depth` of the entry's type) with the plan applied, copied where it changed; NULLED when it must become null. */
function applyValue(value: unknown, entry: FieldEntry, depth: number, variables: Variables): unknown {
  if (value === null || value === undefined) return value;
  if (depth < entry.nonNull.length - 1) {
    if (!Array.isArray(value)) return value;
    let list = value;
    for (let i = 0; i < value.length; i++) {
      const item = applyValue(value[i], entry, depth + 1, variables);
      if (item === value[i]) continue;
      if (item === NULLED && entry.nonNull[depth + 1]) return NULLED;
      if (list === value) list = [...value];
      list[i] = item === NULLED ? null : item;
    }
    return list;
  }
  return typeof value === 'object' && entry.child !== null ? applyObject(value as Record<string, unknown>, entry.child, variables) : value;
}

function included(conditions: readonly ConditionalNode[], variables: Variables): boolean {
  for (const node of conditions) {
    if (getDirectiveValues(GraphQLSkipDirective, node, variables ?? undefined)?.if === true) return false;
    if (getDirectiveValues(GraphQLIncludeDirective, node, variables ?? undefined)?.if === false) return false;
  }
  return true;
}
