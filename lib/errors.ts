import { GraphQLError } from 'graphql';

/**
 * The error catalogue: every code a client can see in `extensions.code`, with what it means.
 * Expected failures are GraphQL errors built here; anything else is masked as
 * INTERNAL_SERVER_ERROR by the server that caught it.
 */
export const ERROR_CODES = {
  BAD_USER_INPUT: 'An argument or input value is invalid.',
  BAD_REQUEST: 'The HTTP request is refused as sent: not a GraphQL request (invalid JSON, no query, batching, a mutation over GET, another method), or a browser form or text/plain POST without a CSRF-preventing header.',
  REQUEST_TOO_LARGE: 'The request body is larger than the server accepts (HTTP 413).',
  GRAPHQL_PARSE_FAILED: 'The document is not valid GraphQL syntax, or is larger, longer or deeper than allowed.',
  GRAPHQL_VALIDATION_FAILED: 'The document does not validate against the schema.',
  OPERATION_RESOLUTION_FAILURE: 'The document has no operation of the requested operationName, or several and no operationName.',
  UNAUTHENTICATED: 'No valid credentials were presented.',
  FORBIDDEN: 'The credentials do not allow this operation.',
  RATE_LIMITED: 'Too many requests; retry after extensions.retryAfter seconds.',
  COST_LIMIT_EXCEEDED: 'The operation costs more than any single request may.',
  DEPTH_LIMIT_EXCEEDED: 'The operation nests fields deeper than allowed.',
  ALIAS_LIMIT_EXCEEDED: 'The operation uses more aliases than allowed.',
  ROOT_FIELD_LIMIT_EXCEEDED: 'The operation selects more root fields than allowed.',
  DIRECTIVE_LIMIT_EXCEEDED: 'A field of the operation carries more directives than allowed.',
  PERSISTED_QUERY_NOT_FOUND: 'The persisted query hash is unknown.',
  PERSISTED_QUERY_NOT_ALLOWED: 'Only persisted queries are accepted from this client.',
  QUOTA_EXCEEDED: "The plan's quota for this period is used up.",
  AUTONOMY_FORBIDS: "The caller's autonomy level does not allow this AI action.",
  NOT_FOUND: 'The requested object does not exist or is not visible to the caller.',
  CONFLICT: 'The request conflicts with the current state.',
  SUBGRAPH_UNAVAILABLE: 'A subgraph could not be reached; data from it is missing.',
  SUBGRAPH_ERROR: "A subgraph failed a field with an error of its own that had no code; its message is relayed with serviceName.",
  SERVICE_UNAVAILABLE: 'A dependency of the platform (such as Redis) is down; retry after extensions.retryAfter seconds.',
  SUBSCRIPTION_LIMIT_EXCEEDED: 'Too many open subscriptions for this caller or this gateway; close some first.',
  SUBSCRIPTION_EXPIRED: 'The subscription reached its maximum lifetime; subscribe again.',
  INTERNAL_SERVER_ERROR: 'An unexpected error; details are in the server log only.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);

export function graphqlError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

export const badUserInput = (message: string, extensions?: Record<string, unknown>) =>
  graphqlError('BAD_USER_INPUT', message, extensions);
export const notFound = (what: string) => graphqlError('NOT_FOUND', `${what} not found`);
export const unauthenticated = (message = 'Authentication required') => graphqlError('UNAUTHENTICATED', message);
export const forbidden = (message = 'Not allowed') => graphqlError('FORBIDDEN', message);
export const conflict = (message: string) => graphqlError('CONFLICT', message);

/** @default 5 // s: how long a client should wait before retrying after SERVICE_UNAVAILABLE. */
export const SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS = 5;
export const serviceUnavailable = (message: string, extensions?: Record<string, unknown>) =>
  graphqlError('SERVICE_UNAVAILABLE', message, { retryAfter: SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS, ...extensions });
