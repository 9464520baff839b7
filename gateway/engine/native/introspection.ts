import { executeSync, type FieldNode, type FragmentDefinitionNode, type GraphQLSchema, Kind, OperationTypeNode, type VariableDefinitionNode } from 'graphql';

/** What answering `__schema`/`__type` needs: the API schema and the request's variables. */
export interface IntrospectionRequest {
  schema: GraphQLSchema;
  variableDefinitions: readonly VariableDefinitionNode[];
  variables: Record<string, unknown>;
}

/**
 * One introspection field's value, answered by graphql-js on the API schema (as
 * `@apollo/gateway` does): the schema is the gateway's, no subgraph is asked.
 */
export function introspect(request: IntrospectionRequest, field: FieldNode, fragments: Readonly<Record<string, FragmentDefinitionNode>>): unknown {
  const result = executeSync({
    schema: request.schema,
    document: {
      kind: Kind.DOCUMENT,
      definitions: [
        {
          kind: Kind.OPERATION_DEFINITION,
          operation: OperationTypeNode.QUERY,
          variableDefinitions: request.variableDefinitions,
          selectionSet: { kind: Kind.SELECTION_SET, selections: [field] },
        },
        ...Object.values(fragments),
      ],
    },
    rootValue: {},
    variableValues: request.variables,
  });
  return (result.data as Record<string, unknown> | null | undefined)?.[field.alias?.value ?? field.name.value] ?? null;
}
