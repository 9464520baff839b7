import {
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  getOperationAST,
  type InlineFragmentNode,
  Kind,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';

import type { ThrottleStatus } from './budget.js';
import { conditionsOf, isIncluded } from './conditions.js';

/** The root field the gateway answers itself (declared by the usage subgraph). */
export const RATE_LIMIT_FIELD = 'rateLimit';

/** One selected `rateLimit`, with the `@skip`/`@include` of the fragments it sits in. */
interface RateLimitSelection {
  field: FieldNode;
  conditions: readonly DirectiveNode[];
}

/** A query's `rateLimit` root fields taken out of it: what still runs, and what to answer. */
export interface RateLimitSplit {
  /** The document without them; null when nothing else is selected (nothing runs). */
  document: DocumentNode | null;
  selections: readonly RateLimitSelection[];
  fragments: ReadonlyMap<string, FragmentDefinitionNode>;
}

const splits = new WeakMap<DocumentNode, Map<string, RateLimitSplit | null>>();

/**
 * The `rateLimit` fields selected on a query's root, directly or inside fragments and inline
 * fragments on the root, cached per document. Null: none selected.
 */
export function splitRateLimitFields(document: DocumentNode, operationName: string | null | undefined): RateLimitSplit | null {
  let byName = splits.get(document);
  if (!byName) splits.set(document, (byName = new Map()));
  const key = operationName ?? '';
  if (!byName.has(key)) byName.set(key, split(document, operationName));
  return byName.get(key)!;
}

function split(document: DocumentNode, operationName: string | null | undefined): RateLimitSplit | null {
  const operation = getOperationAST(document, operationName ?? undefined);
  if (operation?.operation !== 'query') return null;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const selections: RateLimitSelection[] = [];
  // Every fragment at the root of a valid query applies to the root type; one holding a
  // `rateLimit` is inlined without it (named fragments may be spread elsewhere too).
  const strip = (selectionSet: SelectionSetNode, conditions: readonly DirectiveNode[]): SelectionNode[] => {
    const kept: SelectionNode[] = [];
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === RATE_LIMIT_FIELD) selections.push({ field: selection, conditions: [...conditions, ...conditionsOf(selection.directives)] });
        else kept.push(selection);
        continue;
      }
      const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments.get(selection.name.value);
      if (!fragment) {
        kept.push(selection);
        continue;
      }
      const found = selections.length;
      const inner = strip(fragment.selectionSet, [...conditions, ...conditionsOf(selection.directives)]);
      if (selections.length === found) kept.push(selection);
      else if (inner.length > 0) kept.push(inlined(fragment, selection.directives, inner));
    }
    return kept;
  };
  const rest = strip(operation.selectionSet, []);
  if (selections.length === 0) return null;
  if (rest.length === 0) return { document: null, selections, fragments };
  const trimmed: OperationDefinitionNode = { ...operation, selectionSet: { ...operation.selectionSet, selections: rest } };
  const definitions = document.definitions.map((definition) => (definition === operation ? trimmed : definition));
  return { document: withoutUnusedFragments({ ...document, definitions }), selections, fragments };
}

function inlined(fragment: InlineFragmentNode | FragmentDefinitionNode, directives: readonly DirectiveNode[] | undefined, selections: SelectionNode[]): InlineFragmentNode {
  return {
    kind: Kind.INLINE_FRAGMENT,
    ...(fragment.typeCondition ? { typeCondition: fragment.typeCondition } : {}),
    ...(directives ? { directives } : {}),
    selectionSet: { kind: Kind.SELECTION_SET, selections },
  };
}

/** The document without the fragments no operation spreads any more (a document with unused fragments is invalid). */
function withoutUnusedFragments(document: DocumentNode): DocumentNode {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const used = new Set<string>();
  const visit = (selectionSet: SelectionSetNode | undefined) => {
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        if (used.has(selection.name.value)) continue;
        used.add(selection.name.value);
        visit(fragments.get(selection.name.value)?.selectionSet);
      } else {
        visit(selection.selectionSet);
      }
    }
  };
  for (const definition of document.definitions) if (definition.kind === Kind.OPERATION_DEFINITION) visit(definition.selectionSet);
  if (used.size === fragments.size) return document;
  return { ...document, definitions: document.definitions.filter((definition) => definition.kind !== Kind.FRAGMENT_DEFINITION || used.has(definition.name.value)) };
}

/** The `rateLimit` answers, by response key, with the sub-fields each selected (fragments on `RateLimit` included). */
export function rateLimitData(split: RateLimitSplit, cost: number, status: ThrottleStatus, variables: Record<string, unknown>): Record<string, Record<string, unknown>> {
  const values: Record<string, unknown> = {
    __typename: 'RateLimit',
    limit: status.maximumAvailable,
    cost,
    remaining: status.currentlyAvailable,
    resetAt: new Date(status.resetAtMs).toISOString(),
  };
  const answer = (selectionSet: SelectionSetNode | undefined, into: Record<string, unknown>) => {
    for (const selection of selectionSet?.selections ?? []) {
      if (!isIncluded(conditionsOf(selection.directives), variables)) continue;
      if (selection.kind === Kind.FIELD) into[selection.alias?.value ?? selection.name.value] = values[selection.name.value];
      else answer(selection.kind === Kind.INLINE_FRAGMENT ? selection.selectionSet : split.fragments.get(selection.name.value)?.selectionSet, into);
    }
  };
  const data: Record<string, Record<string, unknown>> = {};
  for (const { field, conditions } of split.selections) {
    if (!isIncluded(conditions, variables)) continue;
    answer(field.selectionSet, (data[field.alias?.value ?? field.name.value] ??= {}));
  }
  return data;
}
