import { type ConstDirectiveNode, type DocumentNode, isTypeDefinitionNode, isTypeExtensionNode, Kind, parse, valueFromASTUntyped } from 'graphql';

export const COST_SPEC = 'https://specs.apollo.dev/cost';

/** A field's `@listSize` (Federation 2.9, IBM's cost spec). */
export interface ListSize {
  assumedSize: number | null;
  slicingArguments: readonly string[];
  sizedFields: readonly string[];
  requireOneSlicingArgument: boolean;
}

/** The `@cost` weights and `@listSize`s of a supergraph, by type and by field coordinate. */
export interface CostDirectives {
  /** `@cost` on the type (object, scalar, enum), or undefined. */
  typeWeight(typeName: string): number | undefined;
  /** `@cost` on the field, or undefined. */
  fieldWeight(typeName: string, fieldName: string): number | undefined;
  /** `@cost` on one of the field's arguments, or undefined. */
  argumentWeight(typeName: string, fieldName: string, argumentName: string): number | undefined;
  /** `@cost` on a field of an input object type, or undefined. */
  inputFieldWeight(typeName: string, fieldName: string): number | undefined;
  listSize(typeName: string, fieldName: string): ListSize | undefined;
}

/**
 * Reads `@cost` and `@listSize` from a composed supergraph, where composition keeps them on
 * the fields (Federation 2.9). `@cost`'s name comes from the engine (`linkedDirectiveName`,
 * after `@link` renames); `@listSize` is `listSize` when imported, `<cost>__listSize` otherwise.
 */
export function readCostDirectives(supergraphSdl: string | DocumentNode, linkedDirectiveName: (identity: string) => string | null): CostDirectives {
  const document = typeof supergraphSdl === 'string' ? parse(supergraphSdl, { noLocation: true }) : supergraphSdl;
  const costName = linkedDirectiveName(COST_SPEC) ?? 'cost';
  const listSizeNames = new Set(['listSize', `${costName}__listSize`]);
  const weights = new Map<string, number>();
  const listSizes = new Map<string, ListSize>();
  const weightOf = (directives: readonly ConstDirectiveNode[] | undefined) => {
    const cost = directives?.find((directive) => directive.name.value === costName);
    const weight = cost && argumentsOf(cost).weight;
    return typeof weight === 'number' ? weight : undefined;
  };
  const addWeight = (key: string, directives: readonly ConstDirectiveNode[] | undefined) => {
    const weight = weightOf(directives);
    if (weight !== undefined) weights.set(key, weight);
  };
  for (const definition of document.definitions) {
    if (!isTypeDefinitionNode(definition) && !isTypeExtensionNode(definition)) continue;
    const typeName = definition.name.value;
    addWeight(typeName, definition.directives);
    if (definition.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION || definition.kind === Kind.INPUT_OBJECT_TYPE_EXTENSION) {
      for (const field of definition.fields ?? []) addWeight(`${typeName}.${field.name.value}`, field.directives);
      continue;
    }
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION
      && definition.kind !== Kind.INTERFACE_TYPE_DEFINITION && definition.kind !== Kind.INTERFACE_TYPE_EXTENSION) continue;
    for (const field of definition.fields ?? []) {
      const coordinate = `${typeName}.${field.name.value}`;
      addWeight(coordinate, field.directives);
      for (const argument of field.arguments ?? []) addWeight(`${coordinate}(${argument.name.value}:)`, argument.directives);
      const listSize = field.directives?.find((directive) => listSizeNames.has(directive.name.value));
      if (listSize) listSizes.set(coordinate, listSizeOf(argumentsOf(listSize)));
    }
  }
  return {
    typeWeight: (typeName) => weights.get(typeName),
    fieldWeight: (typeName, fieldName) => weights.get(`${typeName}.${fieldName}`),
    argumentWeight: (typeName, fieldName, argumentName) => weights.get(`${typeName}.${fieldName}(${argumentName}:)`),
    inputFieldWeight: (typeName, fieldName) => weights.get(`${typeName}.${fieldName}`),
    listSize: (typeName, fieldName) => listSizes.get(`${typeName}.${fieldName}`),
  };
}

const argumentsOf = (directive: ConstDirectiveNode): Record<string, unknown> =>
  Object.fromEntries((directive.arguments ?? []).map((argument) => [argument.name.value, valueFromASTUntyped(argument.value)]));

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : []);

function listSizeOf(args: Record<string, unknown>): ListSize {
  return {
    assumedSize: typeof args.assumedSize === 'number' ? args.assumedSize : null,
    slicingArguments: strings(args.slicingArguments),
    sizedFields: strings(args.sizedFields),
    // The spec's default is true.
    requireOneSlicingArgument: args.requireOneSlicingArgument !== false,
  };
}
