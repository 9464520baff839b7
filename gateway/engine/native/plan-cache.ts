import { operationFromDocument, type Schema } from '@apollo/federation-internals';
import type { PlanNode, QueryPlanner, SubscriptionNode } from '@apollo/query-planner';
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  getOperationAST,
  type GraphQLObjectType,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  valueFromASTUntyped,
  visit,
} from 'graphql';

import { setBounded } from '../../../lib/bounded-map.js';
import { compileProjection, type Projection } from './projection.js';
import { aliasRequiredCollisions } from './requires-aliases.js';

/** Everything about one operation of one document that does not depend on a request: its plan and projections. */
export interface CompiledOperation {
  operation: OperationDefinitionNode;
  fragments: Readonly<Record<string, FragmentDefinitionNode>>;
  rootType: GraphQLObjectType;
  /** The query plan's root; undefined when no subgraph is needed (only `__typename` or introspection). */
  plan: PlanNode | SubscriptionNode | undefined;
  variableDefaults: Readonly<Record<string, unknown>>;
  /** The variables `@skip`/`@include` read; the projection is compiled once per combination of their values. */
  conditionVariables: readonly string[];
  projections: Map<string, Projection>;
  /** The client's response name per internal alias given to a field colliding with a `@requires` (empty for most operations). */
  clientNames: ReadonlyMap<string, string>;
}

const NO_ALIASES: ReadonlyMap<string, string> = new Map();

/**
 * Plans and compiled projections per (document, operation name), the least recently used
 * document dropped beyond `maxDocuments`. Keyed by the parsed document object: Yoga's parse
 * cache hands the same object for the same text, so a hit costs two map lookups, no printing.
 */
export class PlanCache {
  readonly #entries = new Map<DocumentNode, Map<string, CompiledOperation>>();

  constructor(
    private readonly planner: QueryPlanner,
    private readonly apiSchema: Schema,
    private readonly schema: GraphQLSchema,
    private readonly maxDocuments: number,
    /** The field names some `@requires` selects with arguments (`fieldsRequiredWithArguments`). */
    private readonly requiredWithArguments: ReadonlySet<string>,
  ) {}

  get(document: DocumentNode, operationName: string | null | undefined): CompiledOperation {
    const key = operationName ?? '';
    let byName = this.#entries.get(document);
    if (byName) {
      // Re-inserting marks the document most recently used (Map keeps insertion order).
      this.#entries.delete(document);
      this.#entries.set(document, byName);
      const cached = byName.get(key);
      if (cached) return cached;
    } else {
      byName = new Map();
      setBounded(this.#entries, document, byName, this.maxDocuments);
    }
    const compiled = this.compile(document, operationName);
    byName.set(key, compiled);
    return compiled;
  }

  private compile(clientDocument: DocumentNode, operationName: string | null | undefined): CompiledOperation {
    // Planned and shaped from the rewritten document, so the client's field and the required one are fetched apart.
    const aliased = aliasRequiredCollisions(clientDocument, this.requiredWithArguments);
    const document = aliased?.document ?? clientDocument;
    const operation = getOperationAST(document, operationName);
    if (!operation) throw new Error('operation not found in a validated document');
    const plan = this.planner.buildQueryPlan(operationFromDocument(this.apiSchema, document, { operationName: operationName ?? undefined })).node;
    const fragments: Record<string, FragmentDefinitionNode> = {};
    for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
    const rootType = this.schema.getRootType(operation.operation);
    if (!rootType) throw new Error(`the schema has no ${operation.operation} type`);
    const variableDefaults: Record<string, unknown> = {};
    for (const definition of operation.variableDefinitions ?? []) {
      if (definition.defaultValue) variableDefaults[definition.variable.name.value] = valueFromASTUntyped(definition.defaultValue);
    }
    return { operation, fragments, rootType, plan, variableDefaults, conditionVariables: conditionVariablesOf(document), projections: new Map(), clientNames: aliased?.clientNames ?? NO_ALIASES };
  }
}

/** The projection for a request's `@skip`/`@include` values, compiled the first time those values are seen. */
export function projectionFor(schema: GraphQLSchema, compiled: CompiledOperation, variables: Readonly<Record<string, unknown>>): Projection {
  let key = '';
  let conditions: Record<string, unknown> = {};
  if (compiled.conditionVariables.length > 0) {
    conditions = { ...compiled.variableDefaults, ...variables };
    for (const name of compiled.conditionVariables) key += conditions[name] === true ? '1' : '0';
  }
  let projection = compiled.projections.get(key);
  if (!projection) {
    projection = compileProjection(schema, compiled.rootType, compiled.operation.selectionSet.selections, compiled.fragments, conditions, compiled.clientNames);
    compiled.projections.set(key, projection);
  }
  return projection;
}

function conditionVariablesOf(document: DocumentNode): string[] {
  const names = new Set<string>();
  visit(document, {
    Directive(directive) {
      if (directive.name.value !== 'skip' && directive.name.value !== 'include') return;
      for (const argument of directive.arguments ?? []) if (argument.value.kind === Kind.VARIABLE) names.add(argument.value.name.value);
    },
  });
  return [...names];
}
