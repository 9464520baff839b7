import { GraphQLError } from 'graphql';
import { SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS } from './errors.js';
import type { Logger } from './logger.js';
import { isRedisUnavailable } from './redis.js';
import { throttledWarning } from './throttled-warning.js';

/**
 * Yoga `maskError` hook. Passes through what clients are meant to see: GraphQL errors that
 * carry a code (ours, or a subgraph's relayed by the gateway) and errors in the document
 * itself (no underlying cause). Redis being unreachable is an outage, not a bug: the client
 * gets SERVICE_UNAVAILABLE and should retry. Anything else is logged here and reaches the
 * client only as INTERNAL_SERVER_ERROR, without its message or stack.
 */
export function maskUnexpectedError(logger: Logger) {
  const redisDown = throttledWarning(logger, 'Redis unavailable');
  return (error: unknown, message: string): Error => {
    if (error instanceof GraphQLError && (error.extensions?.code || !error.originalError)) return error;
    const cause = error instanceof GraphQLError ? error.originalError : error;
    const location = error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {};
    if (isRedisUnavailable(cause)) {
      redisDown(cause);
      return new GraphQLError('A service the platform depends on is unavailable; retry later', {
        ...location,
        extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS },
      });
    }
    logger.error({ err: cause, path: location.path }, 'unexpected error');
    return new GraphQLError(message, { ...location, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
}
