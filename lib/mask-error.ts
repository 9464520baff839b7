import { GraphQLError } from 'graphql';
import type { Logger } from './logger.js';

/**
 * Yoga `maskError` hook. Passes through what clients are meant to see: GraphQL errors that
 * carry a code (ours, or a subgraph's relayed by the gateway) and errors in the document
 * itself (no underlying cause). Anything else is logged here and reaches the client only
 * as INTERNAL_SERVER_ERROR, without its message or stack.
 */
export function maskUnexpectedError(logger: Logger) {
  return (error: unknown, message: string): Error => {
    if (error instanceof GraphQLError && (error.extensions?.code || !error.originalError)) return error;
    const cause = error instanceof GraphQLError ? error.originalError : error;
    logger.error({ err: cause, path: error instanceof GraphQLError ? error.path : undefined }, 'unexpected error');
    return new GraphQLError(message, {
      ...(error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  };
}
