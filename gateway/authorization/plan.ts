import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type FragmentSpreadNode,
  getNamedType,
  getOperationAST,
  type GraphQLCompositeType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type InlineFragmentNode,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  visit,
} from 'graphql';

import {
  type AuthorizationRequirements,
  type CallerView,
  checkRequirement,
  type Requirement,
  scopesMentioned,
} from './requirements.js';

/**
 * The response key under which the filter asks for `__typename` where it must tell concrete
 * types apart (or where every selected field was removed); it is stripped from the response.
 */
export const TYPENAME_ALIAS = '_authz_typename';

/** A field or fragment carrying `@skip` / `@include`, evaluated against each request's variables. */
export type ConditionalNode = FieldNode | InlineFragmentNode | FragmentSpreadNode;

/**
 * Where nulls go in one response object (one selection set, its fragments flattened): only
 * the paths that lead to a removed field are recorded.
 */
export interface ObjectNode {
  entries: FieldEntry[];
  /** Every object reaching this node becomes null (a non-null field inside was removed). */
  nullAlways: boolean;
  /** The filtered selection set asks for `TYPENAME_ALIAS: __typename`. */
  typename: boolean;
}

export interface FieldEntry {
  /** Response key (alias or name). */
  key: string;
  /** Only objects whose concrete type is in here (set by fragments on narrower types); null: all. */
  typeCondition: ReadonlySet<string> | null;
  /** `@skip`/`@include` on the field and on fragments between it and its object. */
  conditions: readonly ConditionalNode[];
  /** Non-null flags of the field's type from the outside in: `[Item!]!` → [true, true]. */
  nonNull: readonly boolean[];
  /** Not executed: the response gets null here (and null propagates from there). */
  removed: boolean;
  child: ObjectNode | null;
}

export interface PlannedError {
  path: readonly string[];
  message: string;
  code: 'UNAUTHENTICATED' | 'FORBIDDEN';
  /** Every `@skip`/`@include` on the way from the root: the error is reported only if they all let it through. */
  conditions: readonly ConditionalNode[];
}

export interface FilterPlan {
  /** The operation without the removed fields (one operation, fragments inlined). */
  document: DocumentNode;
  rootTypeName: string;
  root: ObjectNode;
  errors: readonly PlannedError[];
  /** False when nothing is left to execute: every root field was removed, or null reaches the root. */
  execute: boolean;
  /** A removed non-null root field (or one below it, through non-null fields only): `data` is null. */
  rootNulled: boolean;
}

/** What one operation may ask of a caller, whoever it is: computed once per document. */
export interface OperationRequirements {
  requirements: readonly Requirement[];
  /** Every scope any of them mentions. */
  scopes: readonly string[];
}

/**
 * Every distinct requirement reachable in the operation: its fields' (own + parent type +
 * return type) and its fragments' type conditions'. Named fragments are analysed once each,
 * whatever the number of spreads.
 */
export function operationRequirements(
  schema: GraphQLSchema,
  requirements: AuthorizationRequirements,
  document: DocumentNode,
  operationName: string | null | undefined,
): OperationRequirements | null {
  const operation = getOperationAST(document, operationName);
  const rootType = operation && schema.getRootType(operation.operation);
  if (!operation || !rootType) return null;
  const fragments = fragmentsOf(document);
  const found = new Set<Requirement>();
  const visitedFragments = new Set<string>();
  const walk = (selectionSet: SelectionSetNode, parentType: GraphQLCompositeType) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const field = fieldDefinition(parentType, selection.name.value);
        if (!field) continue;
        const named = getNamedType(field.type);
        const requirement = requirements.fieldRequirement(parentType.name, selection.name.value, named.name);
        if (requirement) found.add(requirement);
        if (selection.selectionSet && isCompositeType(named)) walk(selection.selectionSet, named);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parentType;
        if (!type || !isCompositeType(type)) continue;
        const requirement = type === parentType ? null : requirements.typeRequirement(type.name);
        if (requirement) found.add(requirement);
        walk(selection.selectionSet, type);
      } else {
        const fragment = fragments.get(selection.name.value);
        const type = fragment && schema.getType(fragment.typeCondition.name.value);
        if (!fragment || !type || !isCompositeType(type)) continue;
        const requirement = type === parentType ? null : requirements.typeRequirement(type.name);
        if (requirement) found.add(requirement);
        if (visitedFragments.has(fragment.name.value)) continue;
        visitedFragments.add(fragment.name.value);
        walk(fragment.selectionSet, type);
      }
    }
  };
  walk(operation.selectionSet, rootType);
  const list = [...found];
  return { requirements: list, scopes: [...new Set(list.flatMap(scopesMentioned))].sort() };
}

interface Frame {
  path: readonly string[];
  node: ObjectNode;
  /** Concrete types an object here may have, given the fragments entered so far. */
  possible: readonly GraphQLObjectType[];
  /** `possible` as a set when narrower than the field's type allows; null otherwise. */
  condition: ReadonlySet<string> | null;
  /** `@skip`/`@include` nodes between the object and here (fragments). */
  local: readonly ConditionalNode[];
  /** Same, from the operation root (for errors). */
  chain: readonly ConditionalNode[];
}

interface Walked {
  selections: SelectionNode[];
  changed: boolean;
  /** Whatever the data, every object reaching this selection set becomes null. */
  nullsObject: boolean;
}

const typenameSelection: FieldNode = {
  kind: Kind.FIELD,
  alias: { kind: Kind.NAME, value: TYPENAME_ALIAS },
  name: { kind: Kind.NAME, value: '__typename' },
};

/**
 * Removes from the operation every field (and fragment) the caller may not see, and records
 * the errors to report and where nulls go. Null propagates like GraphQL's: a removed
 * non-null field nulls its object, up to the nearest nullable position. When that position
 * is certain now (no list, no narrower type condition, no `@skip`/`@include` on the way),
 * the ancestor is removed from the operation too; otherwise it is executed and nulled when
 * the response is merged.
 */
export function planFilter(
  schema: GraphQLSchema,
  requirements: AuthorizationRequirements,
  document: DocumentNode,
  operationName: string | null | undefined,
  caller: CallerView,
): FilterPlan | null {
  const operation = getOperationAST(document, operationName);
  const rootType = operation && schema.getRootType(operation.operation);
  if (!operation || !rootType) return null;
  const fragments = fragmentsOf(document);
  const errors: PlannedError[] = [];
  const seenErrors = new Set<string>();
  const report = (error: PlannedError) => {
    const key = `${error.path.join('.')}|${error.message}`;
    if (error.conditions.length === 0) {
      if (seenErrors.has(key)) return;
      seenErrors.add(key);
    }
    errors.push(error);
  };

  const walk = (selectionSet: SelectionSetNode, parentType: GraphQLCompositeType, frame: Frame): Walked => {
    const selections: SelectionNode[] = [];
    let changed = false;
    let nullsObject = false;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        const field = name.startsWith('__') ? undefined : fieldDefinition(parentType, name);
        if (!field) {
          // __typename and introspection: nothing to authorize.
          selections.push(selection);
          continue;
        }
        const named = getNamedType(field.type);
        const key = selection.alias?.value ?? name;
        const path = [...frame.path, key];
        const conditional = hasConditions(selection);
        const local = conditional ? [...frame.local, selection] : frame.local;
        const chain = conditional ? [...frame.chain, selection] : frame.chain;
        const unconditional = frame.condition === null && local.length === 0;
        const nonNull = nonNullFlags(field.type);
        const entry = (removed: boolean, child: ObjectNode | null): FieldEntry => ({
          key,
          typeCondition: frame.condition,
          conditions: local,
          nonNull,
          removed,
          child,
        });
        const failure = checkRequirement(requirements.fieldRequirement(parentType.name, name, named.name), caller);
        if (failure) {
          report({ path, message: `Unauthorized field or type: ${parentType.name}.${name} (${failure.missing})`, code: failure.code, conditions: chain });
          frame.node.entries.push(entry(true, null));
          changed = true;
          if (nonNull[0] && unconditional) nullsObject = true;
          continue;
        }
        if (!selection.selectionSet || !isCompositeType(named)) {
          selections.push(selection);
          continue;
        }
        const child: ObjectNode = { entries: [], nullAlways: false, typename: false };
        const possible = possibleTypes(schema, named);
        const inner = walk(selection.selectionSet, named, { path, node: child, possible, condition: null, local: [], chain });
        if (inner.nullsObject) {
          changed = true;
          if (nonNull.length === 1) {
            // The field's own value is what becomes null: no need to execute it.
            frame.node.entries.push(entry(true, null));
            if (nonNull[0] && unconditional) nullsObject = true;
            continue;
          }
          // A list: each element becomes null, but how many there are is only known by executing it.
          const nulled: ObjectNode = { entries: [], nullAlways: true, typename: true };
          selections.push({ ...selection, selectionSet: { kind: Kind.SELECTION_SET, selections: [typenameSelection] } });
          frame.node.entries.push(entry(false, nulled));
          continue;
        }
        if (!inner.changed) {
          selections.push(selection);
          continue;
        }
        changed = true;
        let innerSelections = inner.selections;
        if (innerSelections.length === 0 || child.entries.some((e) => e.typeCondition !== null)) {
          child.typename = true;
          innerSelections = [...innerSelections, typenameSelection];
        }
        selections.push({ ...selection, selectionSet: { kind: Kind.SELECTION_SET, selections: innerSelections } });
        if (child.entries.length > 0 || child.typename) frame.node.entries.push(entry(false, child));
        continue;
      }

      // Fragments: both kinds come out inline (the filtered document has no fragment definitions).
      let fragmentType: GraphQLCompositeType = parentType;
      let fragmentSelectionSet: SelectionSetNode;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        fragmentSelectionSet = selection.selectionSet;
        if (selection.typeCondition) {
          const type = schema.getType(selection.typeCondition.name.value);
          if (!type || !isCompositeType(type)) continue;
          fragmentType = type;
        }
      } else {
        const fragment = fragments.get(selection.name.value);
        const type = fragment && schema.getType(fragment.typeCondition.name.value);
        if (!fragment || !type || !isCompositeType(type)) continue;
        fragmentType = type;
        fragmentSelectionSet = fragment.selectionSet;
        changed = true;
      }
      const conditional = hasConditions(selection);
      const chain = conditional ? [...frame.chain, selection] : frame.chain;
      if (fragmentType !== parentType) {
        const failure = checkRequirement(requirements.typeRequirement(fragmentType.name), caller);
        if (failure) {
          // As if the fragment matched no object: its fields are absent, not null.
          report({ path: frame.path, message: `Unauthorized field or type: ${fragmentType.name} (${failure.missing})`, code: failure.code, conditions: chain });
          changed = true;
          continue;
        }
      }
      const fragmentPossible = possibleTypes(schema, fragmentType);
      const possible = frame.possible.filter((t) => fragmentPossible.includes(t));
      const condition = possible.length === frame.possible.length ? frame.condition : new Set(possible.map((t) => t.name));
      const inner = walk(fragmentSelectionSet, fragmentType, {
        path: frame.path,
        node: frame.node,
        possible,
        condition,
        local: conditional ? [...frame.local, selection] : frame.local,
        chain,
      });
      if (inner.nullsObject) nullsObject = true;
      if (!inner.changed && selection.kind === Kind.INLINE_FRAGMENT) {
        selections.push(selection);
        continue;
      }
      changed = true;
      if (inner.selections.length === 0) continue;
      selections.push({
        kind: Kind.INLINE_FRAGMENT,
        ...(fragmentType !== parentType || selection.kind === Kind.INLINE_FRAGMENT && selection.typeCondition
          ? { typeCondition: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: fragmentType.name } } }
          : {}),
        ...(selection.directives?.length ? { directives: selection.directives } : {}),
        selectionSet: { kind: Kind.SELECTION_SET, selections: inner.selections },
      });
    }
    return { selections, changed, nullsObject };
  };

  const root: ObjectNode = { entries: [], nullAlways: false, typename: false };
  const walked = walk(operation.selectionSet, rootType, { path: [], node: root, possible: [rootType], condition: null, local: [], chain: [] });
  const filtered: OperationDefinitionNode = {
    ...operation,
    selectionSet: { kind: Kind.SELECTION_SET, selections: walked.selections },
  };
  const used = new Set<string>();
  const collectVariables = { Variable: (node: { name: { value: string } }) => void used.add(node.name.value) };
  visit(filtered.selectionSet, collectVariables);
  for (const directive of filtered.directives ?? []) visit(directive, collectVariables);
  const withVariables: OperationDefinitionNode = {
    ...filtered,
    variableDefinitions: (operation.variableDefinitions ?? []).filter((v) => used.has(v.variable.name.value)),
  };
  return {
    document: { kind: Kind.DOCUMENT, definitions: [withVariables] },
    rootTypeName: rootType.name,
    root,
    errors,
    execute: !walked.nullsObject && walked.selections.length > 0,
    rootNulled: walked.nullsObject,
  };
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return fragments;
}

function fieldDefinition(parentType: GraphQLCompositeType, name: string) {
  return isObjectType(parentType) || isInterfaceType(parentType) ? parentType.getFields()[name] : undefined;
}

function possibleTypes(schema: GraphQLSchema, type: GraphQLCompositeType): readonly GraphQLObjectType[] {
  return isAbstractType(type) ? schema.getPossibleTypes(type) : [type];
}

function nonNullFlags(type: GraphQLOutputType): boolean[] {
  const flags: boolean[] = [];
  let current: GraphQLOutputType = type;
  for (;;) {
    if (isNonNullType(current)) {
      flags.push(true);
      current = current.ofType;
    } else {
      flags.push(false);
    }
    if (!isListType(current)) return flags;
    current = current.ofType;
  }
}

function hasConditions(node: ConditionalNode): boolean {
  return node.directives?.some((d) => d.name.value === 'skip' || d.name.value === 'include') ?? false;
}
