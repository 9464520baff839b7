import { type DocumentNode, type FieldNode, getOperationAST, Kind, type OperationDefinitionNode } from 'graphql';

import type { ThrottleStatus } from './budget.js';

/** The root field the gateway answers itself (declared by the usage subgraph). */
export const RATE_LIMIT_FIELD = 'rateLimit';

/** A query's `rateLimit` root fields taken out of it: what still runs, and what to answer. */
export interface RateLimitSplit {
  /** The document without them; null when nothing else is selected (nothing runs). */
  document: DocumentNode | null;
  fields: readonly FieldNode[];
}

const splits = new WeakMap<DocumentNode, Map<string, RateLimitSplit | null>>();

/**
 * The `rateLimit` fields selected directly on a query's root (not inside fragments, which the
 * usage subgraph answers with null), cached per document. Null: none selected.
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
  const isRateLimit = (selection: OperationDefinitionNode['selectionSet']['selections'][number]): selection is FieldNode =>
    selection.kind === Kind.FIELD && selection.name.value === RATE_LIMIT_FIELD;
  const fields = operation.selectionSet.selections.filter(isRateLimit);
  if (fields.length === 0) return null;
  const rest = operation.selectionSet.selections.filter((selection) => !isRateLimit(selection));
  if (rest.length === 0) return { document: null, fields };
  const trimmed: OperationDefinitionNode = { ...operation, selectionSet: { ...operation.selectionSet, selections: rest } };
  return { document: { ...document, definitions: document.definitions.map((definition) => (definition === operation ? trimmed : definition)) }, fields };
}

/** The `rateLimit` answers, by response key, with the sub-fields each selected. */
export function rateLimitData(fields: readonly FieldNode[], cost: number, status: ThrottleStatus): Record<string, Record<string, unknown>> {
  const values: Record<string, unknown> = {
    __typename: 'RateLimit',
    limit: status.maximumAvailable,
    cost,
    remaining: status.currentlyAvailable,
    resetAt: status.resetAt,
  };
  const data: Record<string, Record<string, unknown>> = {};
  for (const field of fields) {
    const answer: Record<string, unknown> = (data[field.alias?.value ?? field.name.value] ??= {});
    for (const selection of field.selectionSet?.selections ?? []) {
      if (selection.kind === Kind.FIELD) answer[selection.alias?.value ?? selection.name.value] = values[selection.name.value];
    }
  }
  return data;
}
