import { GraphQLError } from 'graphql';
import type { Logger } from './logger.js';

/**
 * Yoga `maskError` hook: expected errors (GraphQL errors that carry a code, or errors in the
 * document) pass through; anything else is logged here and reaches the client only as
 * INTERNAL_SERVER_ERROR with no message detail or stack.
 */
export function maskUnexpectedError(logger: Logger) {
  return (error: unknown, message: string): Error => {
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    if (original instanceof GraphQLError && original.extensions?.code) {
      return error instanceof GraphQLError ? error : original;
    }
    if (error instanceof GraphQLError && !error.originalError) return error;
    logger.error({ err: original, path: error instanceof GraphQLError ? error.path : undefined }, 'unexpected error');
    return new GraphQLError(message, {
      ...(error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  };
}
