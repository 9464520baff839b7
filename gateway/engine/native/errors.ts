import { GraphQLError } from 'graphql';

/** A path in the response as the query plan names it: `@` stands for every element of a list. */
export type PlanPath = readonly (string | number)[];

/** One error as a subgraph sent it (JSON, so a plain object). */
export interface SubgraphError {
  message?: string;
  path?: readonly (string | number)[];
  extensions?: Record<string, unknown>;
}

/**
 * A subgraph's error as the client sees it, as `@apollo/gateway` makes it: the message kept
 * (or a generic one), the path moved to the client's response (`pathOf`), the extensions kept
 * with `serviceName` added and `code` defaulting to DOWNSTREAM_SERVICE_ERROR.
 */
export function downstreamError(error: SubgraphError, serviceName: string, path: readonly (string | number)[] | undefined): GraphQLError {
  const message = error.message || `Error while fetching subquery from service "${serviceName}"`;
  const extensions = { ...error.extensions, serviceName, code: error.extensions?.code ?? 'DOWNSTREAM_SERVICE_ERROR' };
  return new GraphQLError(message, { path, extensions, originalError: error as Error });
}
