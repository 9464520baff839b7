import { createHash } from 'node:crypto';

import { type ExecutionArgs, type ExecutionResult, getOperationAST, GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

import type { Principal } from '../../lib/auth/principal.js';
import { setBounded } from '../../lib/bounded-map.js';
import type { Logger } from '../../lib/logger.js';
import { REQUEST_ID_HEADER, requestIdFrom } from './request-id.js';

export type AccessLogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface AccessLogOptions {
  logger: Logger;
  /** Writes the line per request when true; request ids are handed out either way. */
  enabled: boolean;
  level: AccessLogLevel;
  /** The GraphQL path; other paths (health, dashboard, metrics) get no line. */
  graphqlEndpoint: string;
}

/** What `useAccessLog` adds to every operation's context; the upstream forwards it to subgraphs. */
export interface RequestIdContext {
  requestId: string;
}

/** One HTTP request's figures, filled in as it passes through the hooks. */
interface RequestRecord {
  requestId: string;
  startedAt: number;
  operationName: string | null;
  documentHash: string | null;
  principal: Pick<Principal, 'kind' | 'subject'> | null;
  cost: { estimate: number | null; actual: number | null } | null;
  subgraphErrors: { count: number; names: string[] };
}

/**
 * The access log: exactly one line per HTTP request to the GraphQL endpoint, written when its
 * response leaves (for a stream, when its headers do), whatever happened before — a body that
 * does not parse, a document over the limits, a refused credential, a rate limit, a partial
 * result after thousands of subgraph timeouts. The line carries the request id, the caller
 * (principal kind and its `subject`, never a credential), operation name and document hash
 * (SHA-256 of its text), the cost the cost plugin reported, HTTP status, duration and the
 * count and names of the subgraphs whose errors reached the response.
 *
 * Every request gets an id (a well-formed incoming `x-request-id`, else a new UUID), returned
 * in the `x-request-id` response header and in each error's `extensions.requestId`, and put
 * in the context as `requestId`, which `gateway/upstream` forwards to the subgraphs. Over
 * WebSocket each operation gets its own id (no line: a subscription is not a request).
 * First in the plugin list, so its hooks see every request before another plugin ends it.
 */
export function useAccessLog(options: AccessLogOptions): Plugin<RequestIdContext> {
  // The line is made here of the fields above, none of which is or holds a credential, so the
  // process logger's redaction (a walk of its wildcard paths over every object in the line,
  // ~2.5 % of the gateway's CPU under load) would never censor anything in it.
  const lines = options.logger.child({}, { redact: [] });
  const documentHashOf = cachedDocumentHashes();
  const records = new WeakMap<object, RequestRecord>();
  const recordOf = (context: unknown) => {
    const request = (context as { request?: object } | undefined)?.request;
    return request ? records.get(request) : undefined;
  };
  const noteOperation = (args: ExecutionArgs) => {
    const record = recordOf(args.contextValue);
    if (!record) return;
    const principal = (args.contextValue as { principal?: Principal }).principal;
    if (principal) record.principal = { kind: principal.kind, subject: principal.subject };
    record.operationName ??= getOperationAST(args.document, args.operationName)?.name?.value ?? null;
  };

  return {
    onRequest({ request, url }) {
      if (url.pathname !== options.graphqlEndpoint) return;
      records.set(request, {
        requestId: requestIdFrom(request.headers.get(REQUEST_ID_HEADER)),
        startedAt: performance.now(),
        operationName: null,
        documentHash: null,
        principal: null,
        cost: null,
        subgraphErrors: { count: 0, names: [] },
      });
    },
    onParams({ params, request }) {
      const record = records.get(request);
      if (!record) return;
      record.operationName = typeof params.operationName === 'string' ? params.operationName.slice(0, 200) : null;
      record.documentHash = documentHashOf(params);
    },
    onContextBuilding({ context, extendContext }) {
      extendContext({ requestId: recordOf(context)?.requestId ?? requestIdFrom(null) });
    },
    onExecute({ args }) {
      noteOperation(args);
    },
    onSubscribe({ args }) {
      noteOperation(args);
    },
    onResultProcess({ request, result, setResult }) {
      const record = records.get(request);
      if (!record) return;
      if (Array.isArray(result)) return setResult(result.map((one) => noteResult(record, one)));
      if (!isAsyncIterable(result)) setResult(noteResult(record, result as ExecutionResult));
    },
    onResponse({ request, response }) {
      const record = records.get(request);
      if (!record) return;
      response.headers.set(REQUEST_ID_HEADER, record.requestId);
      if (!options.enabled) return;
      lines[options.level](
        {
          requestId: record.requestId,
          principal: record.principal,
          operationName: record.operationName,
          documentHash: record.documentHash,
          cost: record.cost,
          status: response.status,
          durationMs: Math.round(performance.now() - record.startedAt),
          subgraphErrors: record.subgraphErrors,
        },
        'request',
      );
    },
  };
}

/**
 * @default 512 // document texts whose hash is kept, up to MAX_HASHED_TEXT_LENGTH each (≤ 4 MB of
 * text): clients send the same few documents over and over, and a SHA-256 per request was
 * about 1 % of the gateway's CPU under load.
 */
const MAX_CACHED_DOCUMENT_HASHES = 512;
const MAX_HASHED_TEXT_LENGTH = 8_192;

/**
 * SHA-256 of the document text; for a persisted query without its text, the hash the client
 * sent. Hashes of short texts are kept (the oldest dropped first beyond MAX_CACHED_DOCUMENT_HASHES).
 */
function cachedDocumentHashes() {
  const hashes = new Map<string, string>();
  const sha256 = (text: string) => {
    let hash = hashes.get(text);
    if (hash !== undefined) return hash;
    hash = createHash('sha256').update(text).digest('hex');
    if (text.length > MAX_HASHED_TEXT_LENGTH) return hash;
    setBounded(hashes, text, hash, MAX_CACHED_DOCUMENT_HASHES);
    return hash;
  };
  return (params: { query?: string | undefined; extensions?: Record<string, unknown> | undefined }): string | null => {
    if (typeof params.query === 'string') return sha256(params.query);
    const persisted = params.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined;
    const hash = persisted?.sha256Hash ?? (params as { documentId?: unknown }).documentId;
    return typeof hash === 'string' ? hash.slice(0, 128) : null;
  };
}

/** Records the result's cost and subgraph errors, and stamps the request id on each error. */
function noteResult(record: RequestRecord, result: ExecutionResult): ExecutionResult {
  const cost = result.extensions?.cost as { requestedQueryCost?: number; actualQueryCost?: number | null } | undefined;
  if (cost) record.cost = { estimate: cost.requestedQueryCost ?? null, actual: cost.actualQueryCost ?? null };
  if (!result.errors?.length) return result;
  const names = new Set(record.subgraphErrors.names);
  for (const error of result.errors) {
    const serviceName = error.extensions?.serviceName;
    if (typeof serviceName !== 'string') continue;
    record.subgraphErrors.count++;
    names.add(serviceName);
  }
  record.subgraphErrors.names = [...names].sort();
  return { ...result, errors: result.errors.map((error) => withRequestId(error, record.requestId)) };
}

function withRequestId(error: GraphQLError, requestId: string): GraphQLError {
  if (!(error instanceof GraphQLError)) return { ...(error as object), extensions: { ...(error as GraphQLError).extensions, requestId } } as unknown as GraphQLError;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, requestId },
  });
}
