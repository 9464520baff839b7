import { badUserInput, graphqlError } from '../../lib/errors.js';
import type { Redis } from '../../lib/redis.js';
import { sha256Hex, type TrustedDocuments } from './manifest.js';

/** What a client sends: a query, or a `documentId`, or an APQ hash in `extensions.persistedQuery`. */
export interface PersistedParams {
  query?: string;
  documentId?: unknown;
  operationName?: string;
  variables?: Record<string, unknown>;
  extensions?: Record<string, unknown>;
}

function namesDocument(params: PersistedParams): boolean {
  if (params.documentId !== undefined && params.documentId !== null) return true;
  const persisted = params.extensions?.persistedQuery;
  return typeof persisted === 'object' && persisted !== null;
}

/** Apollo Client's PersistedQueryLink resends with the query on this exact code and message. */
const notFound = () => graphqlError('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound');

/**
 * Turns `documentId` (a trusted document's id) and APQ (`extensions.persistedQuery.sha256Hash`,
 * registered in Redis under `apq:<hash>` for `ttlSeconds` when sent with its query) into
 * params with a query, and remembers which params run a trusted document (`isTrusted`):
 * one found by id or hash in the manifest, or whose text is a manifest body.
 * The same resolution serves HTTP (an `onParams` hook) and graphql-ws (its `onSubscribe`).
 */
export function createPersistedQueryResolver(deps: { redis: Redis; ttlSeconds: number; documents: () => TrustedDocuments }) {
  const trusted = new WeakSet<object>();
  const withQuery = (params: PersistedParams, query: string, isTrusted: boolean) => {
    const { documentId: _documentId, ...rest } = params;
    const next = { ...rest, query };
    if (isTrusted) trusted.add(next);
    return next;
  };
  return {
    /** Whether `resolve` has anything to look up: a `documentId` or an APQ hash; else the params run as sent. */
    namesDocument,
    /** The params to run; throws PERSISTED_QUERY_NOT_FOUND or BAD_USER_INPUT (a hash that is not the query's). */
    async resolve<P extends PersistedParams>(params: P): Promise<P> {
      if (!namesDocument(params)) return params;
      const documents = deps.documents();
      if (params.documentId !== undefined && params.documentId !== null) {
        const body = typeof params.documentId === 'string' ? documents.bodyOf(params.documentId) : undefined;
        if (body === undefined) throw notFound();
        return withQuery(params, body, true) as P;
      }
      const persisted = params.extensions!.persistedQuery as { version?: unknown; sha256Hash?: unknown };
      if (persisted.version !== 1 || typeof persisted.sha256Hash !== 'string') throw badUserInput('Unsupported persistedQuery: expected { version: 1, sha256Hash }');
      const hash = persisted.sha256Hash.toLowerCase();
      if (params.query) {
        if (sha256Hex(params.query) !== hash) throw badUserInput('provided sha256Hash does not match query');
        await deps.redis.set(`apq:${hash}`, params.query, 'EX', deps.ttlSeconds);
        return withQuery(params, params.query, documents.bodyOf(hash) === params.query) as P;
      }
      const body = documents.bodyOf(hash);
      if (body !== undefined) return withQuery(params, body, true) as P;
      const registered = await deps.redis.get(`apq:${hash}`);
      if (registered === null) throw notFound();
      return withQuery(params, registered, false) as P;
    },
    /** Whether these params (as resolved) run a document of the manifest. */
    isTrusted(params: PersistedParams): boolean {
      if (trusted.has(params)) return true;
      return typeof params.query === 'string' && deps.documents().bodyOf(sha256Hex(params.query)) === params.query;
    },
  };
}

export type PersistedQueryResolver = ReturnType<typeof createPersistedQueryResolver>;
