import { GraphQLError, Kind } from 'graphql';

import { type ErrorCode, isErrorCode, SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS } from './errors.js';
import type { Logger } from './logger.js';
import { isRedisUnavailable } from './redis.js';
import { throttledWarning } from './throttled-warning.js';

/**
 * Codes that libraries use for what the catalogue names differently: Yoga's multipart parser,
 * and @apollo/gateway, which marks a subgraph's error that came without a code.
 */
const CODE_ALIASES: Readonly<Record<string, ErrorCode>> = {
  REQUEST_ENTITY_TOO_LARGE: 'REQUEST_TOO_LARGE',
  DOWNSTREAM_SERVICE_ERROR: 'SUBGRAPH_ERROR',
};

/** Extensions that carry a server's internals (Yoga puts a JSON parser's SyntaxError in `originalError`). */
const INTERNAL_EXTENSIONS = new Set(['originalError', 'stacktrace', 'stack', 'exception']);

/**
 * A variable's value that does not coerce to its declared type, or a required one not sent:
 * graphql-js reports these before execution, at the variable's definition and without a path.
 * They are the client's mistake (BAD_USER_INPUT), not ours.
 */
const isVariableCoercionError = (error: GraphQLError) =>
  !error.path && error.nodes?.length === 1 && error.nodes[0]!.kind === Kind.VARIABLE_DEFINITION;

const isHttpExtension = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

function catalogueCode(error: GraphQLError): ErrorCode | undefined {
  const code = error.extensions?.code;
  if (code !== undefined) return isErrorCode(code) ? code : CODE_ALIASES[String(code)];
  return isVariableCoercionError(error) ? 'BAD_USER_INPUT' : undefined;
}

/**
 * The error as a client may see it: its catalogue code, and no internal extension. Yoga marks
 * its request errors `http.spec` to answer them 200 for `Accept: application/json`; without the
 * mark they keep their 4xx whatever the Accept header, as parse and validation errors do.
 */
function forClient(error: GraphQLError, code: ErrorCode): GraphQLError {
  const extensions = Object.fromEntries(Object.entries(error.extensions).filter(([key]) => !INTERNAL_EXTENSIONS.has(key)));
  if (isHttpExtension(extensions.http)) extensions.http = { ...extensions.http, spec: false };
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...extensions, code },
  });
}

/**
 * Yoga `maskError` hook, which sees every error bound for a client (execution results on
 * every transport, and Yoga's own HTTP request errors), so it is the one place that
 * guarantees each has a code from the catalogue and carries no internals. Errors with a
 * catalogue code (ours, a subgraph's relayed by the gateway, Yoga's request errors) and
 * variable coercion errors pass with their message; a subgraph's error without a code is
 * relayed as SUBGRAPH_ERROR. Redis being unreachable is an outage,
 * not a bug: the client gets SERVICE_UNAVAILABLE and should retry. Anything else, including
 * a code the catalogue does not know, is logged here and reaches the client only as
 * INTERNAL_SERVER_ERROR, without its message or stack.
 */
export function maskUnexpectedError(logger: Logger) {
  const redisDown = throttledWarning(logger, 'Redis unavailable');
  return (error: unknown, message: string): Error => {
    const code = error instanceof GraphQLError ? catalogueCode(error) : undefined;
    if (code) return forClient(error as GraphQLError, code);
    const cause = error instanceof GraphQLError ? (error.originalError ?? error) : error;
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
