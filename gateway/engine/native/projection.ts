import {
  type FieldNode,
  type FragmentDefinitionNode,
  getNamedType,
  type GraphQLCompositeType,
  type GraphQLEnumType,
  GraphQLError,
  type GraphQLLeafType,
  GraphQLList,
  GraphQLNonNull,
  type GraphQLOutputType,
  type GraphQLSchema,
  isAbstractType,
  isCompositeType,
  isEnumType,
  isInterfaceType,
  isLeafType,
  isObjectType,
  isSpecifiedScalarType,
  Kind,
  type SelectionNode,
} from 'graphql';

import { type JsonObject, setOwn } from './entities.js';
import { introspect, type IntrospectionRequest } from './introspection.js';

/**
 * The client's operation compiled to plain data, once per document, operation name and values
 * of the `@skip`/`@include` variables: per selection set and runtime type, the flat list of
 * fields to copy (fragments applied, duplicates merged), as graphql-js's field collection does.
 * Shaping a response is then a walk over the merged subgraph data with no per-field decisions
 * beyond the data's `__typename`. It reproduces `@apollo/gateway`'s result shaping: the same
 * null bubbling, error messages and paths.
 */
export interface Projection {
  root: SelectionPlan;
  context: ProjectionContext;
}

/** What compiling a selection set for one more runtime type needs; shared by a projection's selection plans. */
interface ProjectionContext {
  schema: GraphQLSchema;
  fragments: Readonly<Record<string, FragmentDefinitionNode>>;
  /** The `if:` value of every variable used by `@skip`/`@include`, fixed for this projection. */
  conditions: Readonly<Record<string, unknown>>;
  /** The client's response name per internal alias the operation was planned with (see `aliasRequiredCollisions`). */
  clientNames: ReadonlyMap<string, string>;
}

interface SelectionPlan {
  context: ProjectionContext;
  /** The field's type, used when the data has no `__typename`. */
  staticType: GraphQLCompositeType;
  /** The selection sets of every occurrence of the field, merged. */
  selections: SelectionNode[];
  /** The fields to copy, by runtime type name, compiled the first time that type is seen. */
  byType: Map<string, FieldPlan[]>;
}

const enum FieldKind {
  Typename,
  Leaf,
  Composite,
  Introspection,
}

/** Which values a leaf type accepts from a subgraph, decided once per field. */
const enum LeafKind {
  /** Custom scalars: any value, as Apollo passes them through. */
  Any,
  Boolean,
  /** Int and ID: integral numbers (ID also strings). */
  Integer,
  Id,
  Float,
  String,
  Enum,
}

/** Wrapping types, outermost first, so shaping compares numbers rather than testing classes. */
const enum Wrapper {
  NonNull,
  List,
  Named,
}

interface FieldPlan {
  responseName: string;
  /** Where the value is in the subgraph data: the response name, or the internal alias it was planned under. */
  sourceName: string;
  kind: FieldKind;
  /** The type the field was selected on (the fragment's type condition), as Apollo names it in errors. */
  parentType: GraphQLCompositeType;
  /** The field's type, then each wrapped type in turn: `[User!]!` → `[User!]!`, `[User!]`, `User!`, `User`. */
  types: GraphQLOutputType[];
  /** What each of `types` is. */
  wrappers: Wrapper[];
  leaf: GraphQLLeafType | null;
  leafKind: LeafKind;
  selection: SelectionPlan | null;
  /** The field itself, for introspection fields, which graphql-js answers. */
  node: FieldNode;
  /** The source name shadows an `Object.prototype` member, so reading it needs an own-property check. */
  shadowsPrototype: boolean;
}

/** Compiles the projection of an operation's root selection set. */
export function compileProjection(
  schema: GraphQLSchema,
  rootType: GraphQLCompositeType,
  selections: readonly SelectionNode[],
  fragments: Readonly<Record<string, FragmentDefinitionNode>>,
  conditions: Readonly<Record<string, unknown>>,
  clientNames: ReadonlyMap<string, string>,
): Projection {
  const context: ProjectionContext = { schema, fragments, conditions, clientNames };
  return { root: { context, staticType: rootType, selections: [...selections], byType: new Map() }, context };
}

/** One shaping of one response: errors found on the way, and what introspection needs. */
interface Shaping {
  errors: GraphQLError[];
  /** The last completed value was null because of an error already reported below it. */
  hadErrors: boolean;
  introspection: IntrospectionRequest;
}

/** A non-null violation: the parent becomes null (and so on up). */
const INVALID = Symbol('invalid');

/**
 * The client's response from the merged data: its fields in its order under its aliases,
 * abstract types resolved by `__typename`, nulls bubbled to the nearest nullable field with
 * one error at the violating path. `data` is null when it bubbles to the root.
 */
export function shapeResponse(projection: Projection, input: JsonObject, introspection: IntrospectionRequest): { data: JsonObject | null; errors: GraphQLError[] } {
  const shaping: Shaping = { errors: [], hadErrors: false, introspection };
  const root = projection.root;
  const data = shapeObject(shaping, root, fieldsFor(root, root.staticType.name), input, []);
  return { data, errors: shaping.errors };
}

function shapeObject(shaping: Shaping, plan: SelectionPlan, fields: FieldPlan[], input: JsonObject, path: (string | number)[]): JsonObject | null {
  const output: JsonObject = {};
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const name = field.responseName;
    const source = field.sourceName;
    const raw = field.shadowsPrototype ? (Object.hasOwn(input, source) ? input[source] : undefined) : input[source];
    if (field.kind === FieldKind.Typename) {
      const typename = raw ?? (name === '__typename' ? undefined : input.__typename);
      const type = (typeof typename === 'string' && plan.context.schema.getType(typename)) || field.parentType;
      if (!isObjectType(type)) return null;
      setOwn(output, name, type.name);
      continue;
    }
    if (field.kind === FieldKind.Introspection) {
      setOwn(output, name, introspect(shaping.introspection, field.node, plan.context.fragments));
      continue;
    }
    path.push(name);
    const value = complete(shaping, field, 0, raw, path);
    path.pop();
    if (value === INVALID) return null;
    setOwn(output, name, value);
  }
  return output;
}

function complete(shaping: Shaping, field: FieldPlan, depth: number, input: unknown, path: (string | number)[]): unknown {
  const wrapper = field.wrappers[depth];
  if (wrapper === Wrapper.NonNull) {
    const value = complete(shaping, field, depth + 1, input, path);
    if (value !== null && value !== INVALID) return value;
    if (!shaping.hadErrors) {
      shaping.errors.push(apolloError(`Cannot return null for non-nullable ${describe(field, depth + 1, path)}.`, path));
    }
    shaping.hadErrors = true;
    return INVALID;
  }
  if (input === null || input === undefined) {
    shaping.hadErrors = false;
    return null;
  }
  if (wrapper === Wrapper.List) {
    if (!Array.isArray(input)) throw new Error(`Invalid non-list value ${String(input)} returned by subgraph for list type ${String(field.types[depth])}`);
    const output = new Array<unknown>(input.length);
    let invalid = false;
    let hadErrors = false;
    for (let i = 0; i < input.length; i++) {
      path.push(i);
      const value = complete(shaping, field, depth + 1, input[i], path);
      path.pop();
      if (value === INVALID) {
        invalid = true;
        output[i] = null;
      } else {
        output[i] = value;
      }
      hadErrors ||= shaping.hadErrors;
    }
    shaping.hadErrors = hadErrors;
    return invalid ? null : output;
  }
  if (field.leaf) {
    if (isValidLeafValue(field.leafKind, field.leaf, input)) {
      shaping.hadErrors = false;
      return input;
    }
    shaping.errors.push(apolloError(`Invalid value found for ${describe(field, depth, path)}.`, path));
    shaping.hadErrors = true;
    return null;
  }
  if (typeof input !== 'object') throw new Error(`Invalid non-object value ${String(input)} returned by subgraph for composite type ${String(field.types[depth])}`);
  const plan = field.selection!;
  const object = input as JsonObject;
  const typename = object.__typename;
  let runtime = plan.staticType.name;
  if (typeof typename === 'string' && typename !== '') {
    if (!isCompositeType(plan.context.schema.getType(typename))) {
      shaping.errors.push(apolloError(`Invalid __typename found for object at ${describe(field, depth, path)}.`, path));
      shaping.hadErrors = true;
      return null;
    }
    runtime = typename;
  }
  const output = shapeObject(shaping, plan, fieldsFor(plan, runtime), object, path);
  shaping.hadErrors = output === null;
  return output;
}

/** How Apollo's result shaping names the value at the end of `path` in its messages. */
function describe(field: FieldPlan, depth: number, path: readonly (string | number)[]): string {
  const last = path[path.length - 1];
  return typeof last === 'string' ? `field ${field.parentType.name}.${last}` : `array element of type ${String(field.types[depth])} at index ${last}`;
}

function apolloError(message: string, path: readonly (string | number)[]): GraphQLError {
  return new GraphQLError(message, { path: [...path], extensions: { code: 'INVALID_GRAPHQL' } });
}

const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

/** Whether a subgraph's leaf value fits the API schema's type (federation-internals' `isValidLeafValue`). */
function isValidLeafValue(kind: LeafKind, type: GraphQLLeafType, value: unknown): boolean {
  switch (kind) {
    case LeafKind.Any:
      return true;
    case LeafKind.Boolean:
      return typeof value === 'boolean';
    case LeafKind.Integer:
    case LeafKind.Id:
      if (typeof value === 'number') return Number.isFinite(value) && INTEGER.test(String(value));
      return kind === LeafKind.Id && typeof value === 'string';
    case LeafKind.Float:
      return typeof value === 'number' && Number.isFinite(value);
    case LeafKind.String:
      return typeof value === 'string';
    case LeafKind.Enum:
      return typeof value === 'string' && (type as GraphQLEnumType).getValue(value) !== undefined;
  }
}

function leafKindOf(type: GraphQLLeafType): LeafKind {
  if (isEnumType(type)) return LeafKind.Enum;
  if (!isSpecifiedScalarType(type)) return LeafKind.Any;
  switch (type.name) {
    case 'Boolean':
      return LeafKind.Boolean;
    case 'Int':
      return LeafKind.Integer;
    case 'ID':
      return LeafKind.Id;
    case 'Float':
      return LeafKind.Float;
    default:
      return LeafKind.String;
  }
}

/** The fields of `plan` for objects of type `typeName`, compiled once per type. */
function fieldsFor(plan: SelectionPlan, typeName: string): FieldPlan[] {
  let fields = plan.byType.get(typeName);
  if (fields) return fields;
  const runtime = plan.context.schema.getType(typeName) as GraphQLCompositeType;
  const byName = new Map<string, FieldPlan>();
  collectFields(plan.context, runtime, runtime, plan.selections, byName);
  fields = [...byName.values()];
  plan.byType.set(typeName, fields);
  return fields;
}

function collectFields(
  context: ProjectionContext,
  runtime: GraphQLCompositeType,
  parentType: GraphQLCompositeType,
  selections: readonly SelectionNode[],
  byName: Map<string, FieldPlan>,
): void {
  for (const selection of selections) {
    if (!included(context, selection)) continue;
    if (selection.kind === Kind.FIELD) {
      const sourceName = selection.alias?.value ?? selection.name.value;
      const responseName = context.clientNames.get(sourceName) ?? sourceName;
      const existing = byName.get(responseName);
      if (existing) {
        if (existing.selection && selection.selectionSet) existing.selection.selections.push(...selection.selectionSet.selections);
        continue;
      }
      byName.set(responseName, fieldPlan(context, parentType, selection, responseName, sourceName));
      continue;
    }
    const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : context.fragments[selection.name.value];
    if (!fragment) continue;
    const condition = fragment.typeCondition ? (context.schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType | undefined) : parentType;
    if (!condition || !applies(context.schema, condition, runtime)) continue;
    collectFields(context, runtime, condition, fragment.selectionSet.selections, byName);
  }
}

function fieldPlan(context: ProjectionContext, parentType: GraphQLCompositeType, node: FieldNode, responseName: string, sourceName: string): FieldPlan {
  const name = node.name.value;
  const base = { responseName, sourceName, parentType, node, shadowsPrototype: sourceName in Object.prototype, leaf: null, leafKind: LeafKind.Any, selection: null, types: [], wrappers: [] };
  if (name === '__typename') return { ...base, kind: FieldKind.Typename };
  if (name === '__schema' || name === '__type') return { ...base, kind: FieldKind.Introspection };
  const definition = 'getFields' in parentType ? parentType.getFields()[name] : undefined;
  if (!definition) throw new Error(`field ${parentType.name}.${name} not in the API schema`);
  const types: GraphQLOutputType[] = [];
  const wrappers: Wrapper[] = [];
  for (let type: GraphQLOutputType = definition.type; ; type = (type as GraphQLList<GraphQLOutputType>).ofType) {
    types.push(type);
    wrappers.push(type instanceof GraphQLNonNull ? Wrapper.NonNull : type instanceof GraphQLList ? Wrapper.List : Wrapper.Named);
    if (!(type instanceof GraphQLNonNull) && !(type instanceof GraphQLList)) break;
  }
  const named = getNamedType(definition.type);
  if (isLeafType(named)) return { ...base, kind: FieldKind.Leaf, types, wrappers, leaf: named, leafKind: leafKindOf(named) };
  const selection: SelectionPlan = { context, staticType: named as GraphQLCompositeType, selections: [...(node.selectionSet?.selections ?? [])], byType: new Map() };
  return { ...base, kind: FieldKind.Composite, types, wrappers, selection };
}

/** Whether objects of type `runtime` get a fragment on `condition` (Apollo's `isSubtype`). */
function applies(schema: GraphQLSchema, condition: GraphQLCompositeType, runtime: GraphQLCompositeType): boolean {
  if (condition === runtime) return true;
  if (!isAbstractType(condition)) return false;
  return (isObjectType(runtime) || isInterfaceType(runtime)) && schema.isSubType(condition, runtime);
}

function included(context: ProjectionContext, selection: SelectionNode): boolean {
  for (const directive of selection.directives ?? []) {
    const name = directive.name.value;
    if (name !== 'skip' && name !== 'include') continue;
    const argument = directive.arguments?.find((a) => a.name.value === 'if')?.value;
    const value = argument?.kind === Kind.VARIABLE ? context.conditions[argument.name.value] : argument?.kind === Kind.BOOLEAN ? argument.value : undefined;
    if (name === 'skip' && value === true) return false;
    if (name === 'include' && value !== true) return false;
  }
  return true;
}
