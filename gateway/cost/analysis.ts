import {
  type ArgumentNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  getNamedType,
  getNullableType,
  getOperationAST,
  type GraphQLArgument,
  type GraphQLError,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  isCompositeType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type SelectionSetNode,
  valueFromAST,
  valueFromASTUntyped,
  type ValueNode,
} from 'graphql';

import { badUserInput, graphqlError } from '../../lib/errors.js';
import { conditionsOf, isIncluded } from './conditions.js';
import type { CostDirectives, ListSize } from './directives.js';

/**
 * The shape limits every operation is checked against before it is priced (each refused with
 * its own code). Depth counts fields (a root field is depth 1); aliases and root fields count
 * every occurrence once fragments are expanded; directives are those on one field.
 */
export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxRootFields: number;
  maxDirectivesPerField: number;
}

/** The operation limits a parsed gateway config sets. */
export function operationLimitsOf(
  config: Record<'MAX_OPERATION_DEPTH' | 'MAX_OPERATION_ALIASES' | 'MAX_OPERATION_ROOT_FIELDS' | 'MAX_DIRECTIVES_PER_FIELD', number>,
): OperationLimits {
  return {
    maxDepth: config.MAX_OPERATION_DEPTH,
    maxAliases: config.MAX_OPERATION_ALIASES,
    maxRootFields: config.MAX_OPERATION_ROOT_FIELDS,
    maxDirectivesPerField: config.MAX_DIRECTIVES_PER_FIELD,
  };
}

/** @default Apollo Router's and IBM's defaults: object 1, scalar and enum 0, mutation 10, list size 10. */
export const COST_DEFAULTS = { objectWeight: 1, leafWeight: 0, mutationWeight: 10, listSize: 10 } as const;

/** Fields visited while compiling one operation, fragments expanded; beyond, it is refused as too costly to even price. */
const MAX_ANALYSED_FIELDS = 20_000;

/** One selected field, its weights resolved from the schema once per document. */
interface CostField {
  responseKey: string;
  /** Only counted when the parent object is of this type (a fragment on another type); null: always. */
  typeCondition: string | null;
  /** `@cost` of the field, else of its type, else 1 for composite and 0 for leaf types. */
  weight: number;
  /** The arguments passed whose `@cost`, or the `@cost` of input fields within them, can count. */
  pricedArguments: readonly PricedArgument[];
  /** Whether the field returns a list (multiplied by its size). */
  list: boolean;
  listSize: ListSize | undefined;
  /** The field's arguments as written (for slicing arguments) and the schema's defaults. */
  args: ReadonlyMap<string, { node: ArgumentNode; type: GraphQLArgument }>;
  defaults: ReadonlyMap<string, unknown>;
  /** `@skip`/`@include` of the field and of the fragments it sits in. */
  conditions: readonly DirectiveNode[];
  children: readonly CostField[];
}

/** An argument as passed, priced per request: its `@cost` and its input fields' count when given (not null). */
interface PricedArgument {
  weight: number;
  type: GraphQLInputType;
  value: ValueNode;
}

/** A compiled operation: its static shape, priced per request with its variables. */
export interface PricedOperation {
  /** The estimated cost with these variables (`@skip`/`@include`, slicing arguments). */
  estimate(variables: Record<string, unknown>): number;
  /**
   * The cost of what the response holds: real list lengths, same weights. Results never change
   * their data in place, so the figure is kept per data object (and variables): requests sharing
   * one execution (INBOUND_DEDUPLICATION) walk the data once between them.
   */
  actual(data: unknown, variables: Record<string, unknown>): number;
}

export interface CostAnalysis {
  /** The operation priced, or the limit it breaks; cached per document and operation name. */
  analyse(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): PricedOperation | GraphQLError;
}

export function createCostAnalysis(directives: CostDirectives, limits: OperationLimits): CostAnalysis {
  const cache = new WeakMap<DocumentNode, Map<string, PricedOperation | GraphQLError>>();
  return {
    analyse(schema, document, operationName) {
      let byName = cache.get(document);
      if (!byName) cache.set(document, (byName = new Map()));
      const key = operationName ?? '';
      let priced = byName.get(key);
      if (!priced) byName.set(key, (priced = compile(schema, document, operationName, directives, limits)));
      return priced;
    },
  };
}

function compile(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  directives: CostDirectives,
  limits: OperationLimits,
): PricedOperation | GraphQLError {
  const operation = getOperationAST(document, operationName ?? undefined);
  const rootType = operation && schema.getRootType(operation.operation);
  if (!operation || !rootType) return graphqlError('OPERATION_RESOLUTION_FAILURE', 'No operation to price.');
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  let aliases = 0;
  let visited = 0;
  let refusal: GraphQLError | null = null;

  const inputWeights = inputWeightsOf(directives);

  const fieldsOf = (
    selectionSet: SelectionSetNode,
    parent: GraphQLNamedType,
    typeCondition: string | null,
    depth: number,
    conditions: readonly DirectiveNode[],
  ): CostField[] => {
    const fields: CostField[] = [];
    for (const selection of selectionSet.selections) {
      if (refusal) return fields;
      if (selection.kind === Kind.FIELD) {
        const field = fieldOf(selection, parent, typeCondition, depth, conditions);
        if (field) fields.push(field);
        continue;
      }
      const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : selection;
      if (!fragment) continue;
      const conditionName = fragment.typeCondition?.name.value;
      const conditionType = conditionName ? schema.getType(conditionName) : parent;
      if (!conditionType) continue;
      // A fragment on the parent's own type (or none) is unconditional; on another type it only counts for objects of that type.
      const condition = conditionType === parent ? typeCondition : conditionType.name;
      fields.push(...fieldsOf(fragment.selectionSet, conditionType, condition, depth, [...conditions, ...conditionsOf(selection.directives)]));
    }
    return fields;
  };

  const fieldOf = (node: FieldNode, parent: GraphQLNamedType, typeCondition: string | null, depth: number, inherited: readonly DirectiveNode[]): CostField | null => {
    if (++visited > MAX_ANALYSED_FIELDS) {
      refusal = graphqlError('COST_LIMIT_EXCEEDED', `The operation selects more than ${MAX_ANALYSED_FIELDS} fields once fragments are expanded.`);
      return null;
    }
    if (node.alias && ++aliases > limits.maxAliases) {
      refusal = graphqlError('ALIAS_LIMIT_EXCEEDED', `The operation uses more than ${limits.maxAliases} aliases.`, { maxAliases: limits.maxAliases });
      return null;
    }
    // Introspection is answered by the gateway itself and priced at nothing (its aliases still count).
    if (node.name.value.startsWith('__')) return null;
    if (depth > limits.maxDepth) {
      refusal = graphqlError('DEPTH_LIMIT_EXCEEDED', `The operation nests fields deeper than ${limits.maxDepth}.`, { maxDepth: limits.maxDepth });
      return null;
    }
    if ((node.directives?.length ?? 0) > limits.maxDirectivesPerField) {
      refusal = graphqlError('DIRECTIVE_LIMIT_EXCEEDED', `A field carries more than ${limits.maxDirectivesPerField} directives.`, {
        maxDirectivesPerField: limits.maxDirectivesPerField,
      });
      return null;
    }
    const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[node.name.value] : undefined;
    if (!definition) return null;
    const type = getNamedType(definition.type);
    const passed = new Map((node.arguments ?? []).map((argument) => [argument.name.value, argument]));
    const pricedArguments: PricedArgument[] = [];
    const argumentEntries = new Map<string, { node: ArgumentNode; type: GraphQLArgument }>();
    const defaults = new Map<string, unknown>();
    for (const argument of definition.args) {
      const given = passed.get(argument.name);
      if (given) {
        const weight = directives.argumentWeight(parent.name, node.name.value, argument.name) ?? 0;
        if (weight !== 0 || inputWeights.reaches(argument.type)) pricedArguments.push({ weight, type: argument.type, value: given.value });
        argumentEntries.set(argument.name, { node: given, type: argument });
      } else if (argument.defaultValue !== undefined) {
        defaults.set(argument.name, argument.defaultValue);
      }
    }
    const weight =
      directives.fieldWeight(parent.name, node.name.value) ??
      directives.typeWeight(type.name) ??
      (isCompositeType(type) ? COST_DEFAULTS.objectWeight : COST_DEFAULTS.leafWeight);
    return {
      responseKey: node.alias?.value ?? node.name.value,
      typeCondition,
      weight,
      pricedArguments,
      list: returnsList(definition.type),
      listSize: directives.listSize(parent.name, node.name.value),
      args: argumentEntries,
      defaults,
      conditions: [...inherited, ...conditionsOf(node.directives)],
      children: node.selectionSet ? fieldsOf(node.selectionSet, type, null, depth + 1, []) : [],
    };
  };

  const roots = fieldsOf(operation.selectionSet, rootType, null, 1, []);
  if (refusal) return refusal;
  const rootCount = roots.length;
  if (rootCount > limits.maxRootFields) {
    return graphqlError('ROOT_FIELD_LIMIT_EXCEEDED', `The operation selects more than ${limits.maxRootFields} root fields.`, {
      maxRootFields: limits.maxRootFields,
    });
  }
  const base = operation.operation === 'mutation' ? COST_DEFAULTS.mutationWeight : 0;
  const context = (variables: Record<string, unknown>): PricingContext => ({ variables, inputWeights });
  const actualByData = new WeakMap<object, { variables: string; cost: number }>();
  // An operation that declares no variables costs the same every time: priced once, on first use.
  const takesVariables = (operation.variableDefinitions?.length ?? 0) > 0;
  let fixedEstimate: number | undefined;
  return {
    estimate: (variables) => {
      if (takesVariables) return base + estimateSelection(roots, context(variables));
      return (fixedEstimate ??= base + estimateSelection(roots, context({})));
    },
    actual: (data, variables) => {
      if (typeof data !== 'object' || data === null) return base + actualSelection(roots, data, context(variables));
      const key = takesVariables ? JSON.stringify(variables) : '';
      const known = actualByData.get(data);
      if (known?.variables === key) return known.cost;
      const cost = base + actualSelection(roots, data, context(variables));
      actualByData.set(data, { variables: key, cost });
      return cost;
    },
  };
}

/** What pricing one request needs besides the compiled fields. */
interface PricingContext {
  variables: Record<string, unknown>;
  inputWeights: InputWeights;
}

/** `@cost` on input fields, as the analysis of arguments needs them. */
interface InputWeights {
  /** Whether a value of this type can hold a weighted input field (decided once per type). */
  reaches(type: GraphQLInputType): boolean;
  /** The cost of a value of this type as given: each input field given (not null) adds its `@cost`, nested objects and list items included. */
  of(type: GraphQLInputType, value: unknown): number;
}

function inputWeightsOf(directives: CostDirectives): InputWeights {
  const reachable = new Map<string, boolean>();
  const reaches = (type: GraphQLInputType): boolean => {
    const start = getNamedType(type);
    if (!isInputObjectType(start)) return false;
    let known = reachable.get(start.name);
    if (known === undefined) {
      // Input types may be recursive: each is searched once per starting type.
      const seen = new Set<string>();
      const search = (named: GraphQLNamedType): boolean => {
        if (!isInputObjectType(named) || seen.has(named.name)) return false;
        seen.add(named.name);
        return Object.values(named.getFields()).some((field) => (directives.inputFieldWeight(named.name, field.name) ?? 0) !== 0 || search(getNamedType(field.type)));
      };
      reachable.set(start.name, (known = search(start)));
    }
    return known;
  };
  const of = (type: GraphQLInputType, value: unknown): number => {
    if (value === null || value === undefined) return 0;
    const nullable = getNullableType(type);
    // A single value where a list is expected counts as a list of one (input coercion).
    if (isListType(nullable)) return (Array.isArray(value) ? value : [value]).reduce((sum: number, item) => sum + of(nullable.ofType, item), 0);
    if (!isInputObjectType(nullable) || typeof value !== 'object' || !reaches(nullable)) return 0;
    let total = 0;
    const fields = nullable.getFields();
    for (const [name, fieldValue] of Object.entries(value as Record<string, unknown>)) {
      const field = fields[name];
      if (!field || fieldValue === null || fieldValue === undefined) continue;
      total += (directives.inputFieldWeight(nullable.name, name) ?? 0) + of(field.type, fieldValue);
    }
    return total;
  };
  return { reaches, of };
}

/**
 * `@cost` of the arguments passed and of the input fields given within them (IBM's cost spec,
 * Federation 2.9): counted when the value, variables applied, is not null.
 */
function argumentsCost(field: CostField, { variables, inputWeights }: PricingContext): number {
  let total = 0;
  for (const argument of field.pricedArguments) {
    const value = valueFromASTUntyped(argument.value, variables);
    if (value === null || value === undefined) continue;
    total += argument.weight + inputWeights.of(argument.type, value);
  }
  return total;
}

function returnsList(type: GraphQLOutputType): boolean {
  const nullable = isNonNullType(type) ? type.ofType : type;
  return isListType(nullable);
}

/**
 * Unconditional fields add up; fields under fragments on other types count as the costliest
 * of those types (an object is of one type only).
 */
function estimateSelection(fields: readonly CostField[], context: PricingContext, sized?: { names: readonly string[]; size: number }): number {
  let always = 0;
  let byType: Map<string, number> | undefined;
  for (const field of fields) {
    if (!isIncluded(field.conditions, context.variables)) continue;
    const size = sized?.names.includes(field.responseKey) ? sized.size : undefined;
    const cost = estimateField(field, context, size);
    if (field.typeCondition === null) always += cost;
    else (byType ??= new Map()).set(field.typeCondition, (byType.get(field.typeCondition) ?? 0) + cost);
  }
  return byType ? always + Math.max(0, ...byType.values()) : always;
}

function estimateField(field: CostField, context: PricingContext, sizeFromParent: number | undefined): number {
  const ownSize = listSizeOf(field, context.variables);
  // With sizedFields, the size belongs to those child fields (a connection's `edges`), not to this one.
  const sizedChildren = field.listSize && field.listSize.sizedFields.length > 0 ? { names: field.listSize.sizedFields, size: ownSize } : undefined;
  const multiplier = sizeFromParent ?? (field.list && !sizedChildren ? ownSize : 1);
  return multiplier * (field.weight + estimateSelection(field.children, context, sizedChildren)) + argumentsCost(field, context);
}

/** `@listSize`: the largest slicing argument passed, else `assumedSize`, else the default (10). */
function listSizeOf(field: CostField, variables: Record<string, unknown>): number {
  const listSize = field.listSize;
  if (!listSize) return COST_DEFAULTS.listSize;
  const sizes: number[] = [];
  for (const name of listSize.slicingArguments) {
    const entry = field.args.get(name);
    const value = entry ? valueFromAST(entry.node.value, entry.type.type, variables) : field.defaults.get(name);
    if (typeof value === 'number') sizes.push(value);
  }
  if (listSize.requireOneSlicingArgument && listSize.slicingArguments.length > 0 && sizes.length !== 1) {
    throw badUserInput(`Exactly one of ${listSize.slicingArguments.join(', ')} must be passed to price this list.`);
  }
  if (sizes.length > 0) return Math.max(0, ...sizes);
  return listSize.assumedSize ?? COST_DEFAULTS.listSize;
}

/** The same weights over the response: each list as long as it came back, null values free. */
function actualSelection(fields: readonly CostField[], data: unknown, context: PricingContext): number {
  if (typeof data !== 'object' || data === null) return 0;
  const object = data as Record<string, unknown>;
  // A response key selected more than once (the same field in two fragments) counts once; the
  // set is only needed, and only allocated, for selections where that can happen.
  const counted = repeatsResponseKeys(fields) ? new Set<string>() : null;
  let total = 0;
  for (const field of fields) {
    if (counted?.has(field.responseKey) || !(field.responseKey in object) || !isIncluded(field.conditions, context.variables)) continue;
    counted?.add(field.responseKey);
    total += argumentsCost(field, context) + actualValue(field, object[field.responseKey], context);
  }
  return total;
}

function actualValue(field: CostField, value: unknown, context: PricingContext): number {
  if (value === null || value === undefined) return 0;
  if (Array.isArray(value)) {
    let total = 0;
    for (const item of value) total += actualValue(field, item, context);
    return total;
  }
  return field.weight + actualSelection(field.children, value, context);
}

/** Whether two fields of a selection share a response key; decided once per compiled selection. */
const repeatedKeys = new WeakMap<readonly CostField[], boolean>();
function repeatsResponseKeys(fields: readonly CostField[]): boolean {
  let repeats = repeatedKeys.get(fields);
  if (repeats === undefined) {
    repeats = new Set(fields.map((field) => field.responseKey)).size !== fields.length;
    repeatedKeys.set(fields, repeats);
  }
  return repeats;
}
