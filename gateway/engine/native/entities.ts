import type { FetchDataRewrite, QueryPlanSelectionNode } from '@apollo/query-planner';
import { type GraphQLSchema, isAbstractType, isInterfaceType, isObjectType } from 'graphql';

import type { PlanPath } from './errors.js';

/** A JSON object of the response being built (subgraph answers merged in place). */
export type JsonObject = Record<string, unknown>;

/** How a plan path element or a rewrite path element restricts to one type: `... on User`. */
const TYPE_CONDITION_PREFIX = '... on ';

/**
 * Appends to `out` the objects at `path` under `data` (`@` steps into every list element,
 * `... on T` keeps objects of type T), the way `@apollo/gateway` positions a Flatten node.
 * With `paths`, also appends each object's response path (for re-pathing entity errors).
 */
export function collectAtPath(
  schema: GraphQLSchema,
  data: unknown,
  path: PlanPath,
  depth: number,
  out: JsonObject[],
  paths: (string | number)[][] | null,
  current: (string | number)[],
): void {
  if (data === null || data === undefined || typeof data !== 'object') return;
  if (depth === path.length) {
    if (Array.isArray(data)) {
      for (let i = 0; i < data.length; i++) {
        current.push(i);
        collectAtPath(schema, data[i], path, depth, out, paths, current);
        current.pop();
      }
      return;
    }
    out.push(data as JsonObject);
    if (paths) paths.push(current.slice());
    return;
  }
  const head = path[depth] as string;
  if (Array.isArray(data)) {
    // `@` steps into each element; so does a field name met on a list (a lenient reading).
    const next = head === '@' ? depth + 1 : depth;
    for (let i = 0; i < data.length; i++) {
      current.push(i);
      collectAtPath(schema, data[i], path, next, out, paths, current);
      current.pop();
    }
    return;
  }
  if (head === '@') return;
  if (head.startsWith(TYPE_CONDITION_PREFIX)) {
    if (isObjectOfType(schema, data as JsonObject, head.slice(TYPE_CONDITION_PREFIX.length), false)) {
      collectAtPath(schema, data, path, depth + 1, out, paths, current);
    }
    return;
  }
  if (!Object.hasOwn(data, head)) return;
  current.push(head);
  collectAtPath(schema, (data as JsonObject)[head], path, depth + 1, out, paths, current);
  current.pop();
}

/**
 * The representation a `requires` selection picks from an entity (its key and required
 * fields); null when the entity lacks one of them, which `@apollo/gateway` skips too.
 */
export function representationOf(schema: GraphQLSchema, source: JsonObject | null, selections: readonly QueryPlanSelectionNode[]): JsonObject | null {
  if (source === null) return null;
  const result: JsonObject = {};
  for (const selection of selections) {
    if (selection.kind === 'Field') {
      const name = selection.alias ?? selection.name;
      const value = Object.hasOwn(source, name) ? source[name] : undefined;
      if (value === undefined) return null;
      const sub = selection.selections;
      if (Array.isArray(value)) {
        setOwn(result, name, sub ? value.map((item: JsonObject | null) => representationOf(schema, item, sub)) : value);
      } else {
        setOwn(result, name, sub ? representationOf(schema, value as JsonObject | null, sub) : value);
      }
    } else if (selection.typeCondition && isObjectOfType(schema, source, selection.typeCondition, false)) {
      deepMerge(result, representationOf(schema, source, selection.selections));
    }
  }
  return result;
}

/** A `requires` that is one or more `... on T { __typename f g }` of leaf fields (the usual entity key), by type condition. */
type FlatRequires = readonly { typeCondition: string; names: readonly string[] }[];
const flatRequires = new WeakMap<readonly QueryPlanSelectionNode[], FlatRequires | null>();

function flatRequiresOf(selections: readonly QueryPlanSelectionNode[]): FlatRequires | null {
  let flat = flatRequires.get(selections);
  if (flat === undefined) {
    const fragments: { typeCondition: string; names: readonly string[] }[] = [];
    for (const selection of selections) {
      if (selection.kind !== 'InlineFragment' || !selection.typeCondition) break;
      const names = selection.selections.map((field) => (field.kind === 'Field' && !field.selections ? (field.alias ?? field.name) : ''));
      if (names.includes('') || !names.includes('__typename') || new Set(names).size !== names.length) break;
      fragments.push({ typeCondition: selection.typeCondition, names });
    }
    flat = fragments.length === selections.length ? fragments : null;
    flatRequires.set(selections, flat);
  }
  return flat;
}

/** Representation numbers of flat entities: by fragment, then by each field's value in order. */
type ValueTrie = Map<unknown, ValueTrie | number>;

/**
 * Numbers the distinct representations of one entity fetch: entities whose representations
 * (`representationOf`, input rewrites applied) are equal as JSON are asked for once. Most
 * entities repeat one already numbered (the same product under every review), so for a flat
 * `requires` an entity is looked up by its field values, without building its representation
 * or its JSON; only a new one is built. Map keys compare values as JSON does, once non-finite
 * numbers are taken as the null JSON writes for them (and -0 as 0). An entity with an object or
 * list value, or of a type two fragments apply to, is compared by its representation's JSON:
 * no flat entity can equal it, whose values are all scalars and whose type has one fragment.
 */
export class RepresentationIndex {
  readonly representations: JsonObject[] = [];
  /** Per representation, the positions of the entities it stands for. */
  readonly owners: number[][] = [];
  readonly #byValues: ValueTrie = new Map();
  readonly #byJson = new Map<string, number>();
  readonly #flat: FlatRequires | null;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly requires: readonly QueryPlanSelectionNode[],
    private readonly inputRewrites: readonly FetchDataRewrite[] | undefined,
  ) {
    this.#flat = inputRewrites?.length ? null : flatRequiresOf(requires);
  }

  /** Counts entity number `owner` under its representation; one without a representation (or its `__typename`) is left out. */
  add(source: JsonObject, owner: number): void {
    const names = this.#flat ? this.#flatNamesOf(source) : undefined;
    if (names === null) return;
    if (names) {
      let node = this.#byValues;
      let key: unknown = names;
      let flat = true;
      for (const name of names) {
        const value = Object.hasOwn(source, name) ? source[name] : undefined;
        if (value === undefined || (name === '__typename' && !value)) return;
        if (typeof value === 'object' && value !== null) {
          flat = false;
          break;
        }
        let next = node.get(key) as ValueTrie | undefined;
        if (!next) node.set(key, (next = new Map()));
        node = next;
        key = typeof value === 'number' && !Number.isFinite(value) ? null : value;
      }
      if (flat) {
        const index = node.get(key) as number | undefined;
        if (index !== undefined) return void this.owners[index]!.push(owner);
        node.set(key, this.#push(representationOf(this.schema, source, this.requires)!, owner));
        return;
      }
    }
    const representation = representationOf(this.schema, source, this.requires);
    if (!representation?.__typename) return;
    applyRewrites(this.schema, this.inputRewrites, representation);
    const json = JSON.stringify(representation);
    const index = this.#byJson.get(json);
    if (index !== undefined) return void this.owners[index]!.push(owner);
    this.#byJson.set(json, this.#push(representation, owner));
  }

  /** The fields of the one fragment that applies to `source`; null: none applies (no representation); undefined: more than one. */
  #flatNamesOf(source: JsonObject): readonly string[] | null | undefined {
    let names: readonly string[] | null = null;
    for (const fragment of this.#flat!) {
      if (!isObjectOfType(this.schema, source, fragment.typeCondition, false)) continue;
      if (names) return undefined;
      names = fragment.names;
    }
    return names;
  }

  #push(representation: JsonObject, owner: number): number {
    this.owners.push([owner]);
    return this.representations.push(representation) - 1;
  }
}

/** Merges a subgraph's answer into the response in place: objects field by field, equal-length lists element by element. */
export function deepMerge(target: JsonObject, source: JsonObject | null | undefined): void {
  if (source === null || source === undefined) return;
  for (const key in source) {
    const value = source[key];
    if (value === undefined) continue;
    const existing = Object.hasOwn(target, key) ? target[key] : undefined;
    if (existing && isPlainObject(value) && typeof existing === 'object') {
      deepMerge(existing as JsonObject, value);
    } else if (Array.isArray(value) && Array.isArray(existing) && value.length === existing.length) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        const current: unknown = existing[i];
        if (isPlainObject(item) && isPlainObject(current)) deepMerge(current, item);
        else existing[i] = item;
      }
    } else {
      setOwn(target, key, value);
    }
  }
}

/** The planner's input/output rewrites (renamed keys, injected `__typename`s) applied to `value`. */
export function applyRewrites(schema: GraphQLSchema, rewrites: readonly FetchDataRewrite[] | undefined, value: unknown): void {
  if (!rewrites) return;
  for (const rewrite of rewrites) {
    if (rewrite.path.length === 0) continue;
    applyAt(schema, rewrite, rewrite.path.length - 1, 0, value);
  }
}

function applyAt(schema: GraphQLSchema, rewrite: FetchDataRewrite, last: number, depth: number, value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) applyAt(schema, rewrite, last, depth, item);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const object = value as JsonObject;
  if (depth === last) {
    const field = rewrite.path[last]!;
    if (rewrite.kind === 'ValueSetter') {
      setOwn(object, field, rewrite.setValueTo);
    } else {
      const found = Object.hasOwn(object, field) ? object[field] : undefined;
      if (found) {
        setOwn(object, rewrite.renameKeyTo, found);
        object[field] = undefined;
      }
    }
    return;
  }
  const element = rewrite.path[depth]!;
  if (element.startsWith(TYPE_CONDITION_PREFIX)) {
    if (isObjectOfType(schema, object, element.slice(TYPE_CONDITION_PREFIX.length), true)) applyAt(schema, rewrite, last, depth + 1, object);
  } else if (Object.hasOwn(object, element)) {
    applyAt(schema, rewrite, last, depth + 1, object[element]);
  }
}

/** Whether `object` (by its `__typename`) is of type `condition` or one of its subtypes in `schema`. */
export function isObjectOfType(schema: GraphQLSchema, object: JsonObject, condition: string, whenUnknown: boolean): boolean {
  const typename = object.__typename;
  if (typeof typename !== 'string' || typename === '') return whenUnknown;
  if (typename === condition) return true;
  const type = schema.getType(typename);
  const conditionType = schema.getType(condition);
  if (!type || !conditionType || !isAbstractType(conditionType)) return false;
  return (isObjectType(type) || isInterfaceType(type)) && schema.isSubType(conditionType, type);
}

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets an own data property, even for a response name such as `__proto__`, which plain assignment would treat as the prototype. */
export function setOwn(object: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  else object[key] = value;
}
