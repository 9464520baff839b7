import type { ExecutionArgs } from 'graphql';
import type { Plugin } from 'graphql-yoga';

import type { Principal } from '../../lib/auth/principal.js';
import { graphqlError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { PersistedParams, PersistedQueryResolver } from './resolver.js';

export interface PersistedQueriesPolicy {
  /** enforce: refuse PERSISTED_QUERY_NOT_ALLOWED; log-only: log and run; off: no rule. */
  mode: 'enforce' | 'log-only' | 'off';
  allowArbitraryForTokens: boolean;
  allowArbitraryAnonymous: boolean;
  /** s of `Cache-Control: public` on anonymous GET answers of persisted queries (0: none). */
  getMaxAgeSeconds: number;
  /** Request headers that carry credentials (their answers are never publicly cacheable). */
  credentialHeaders: readonly string[];
}

/** Yoga's GET parser keeps only query, operationName, variables and extensions: `documentId` is read here. */
function withDocumentIdOfUrl(params: PersistedParams, url: string): PersistedParams {
  const documentId = new URL(url).searchParams.get('documentId');
  return documentId === null ? params : { ...params, documentId };
}

/** Whether a caller of this kind may run a document outside the manifest. */
function mayRunArbitrary(principal: Principal | undefined, policy: PersistedQueriesPolicy): boolean {
  switch (principal?.kind) {
    case 'apiKey':
      return false;
    case 'user':
    case 'oidc':
      return policy.allowArbitraryForTokens;
    case 'service':
      return true;
    default:
      return policy.allowArbitraryAnonymous;
  }
}

/**
 * Persisted queries for every transport. HTTP `onParams` resolves `documentId` and APQ hashes
 * (graphql-ws calls the same resolver in its `onSubscribe`, see gateway/transports/graphql-ws.ts);
 * the rule "partner API keys run only trusted documents" is enforced at `onExecute` and
 * `onSubscribe`, where every transport passes and the authenticated principal is known.
 * GET answers of persisted queries to anonymous callers get `Cache-Control: public`.
 */
export function usePersistedQueries(resolver: PersistedQueryResolver, policy: PersistedQueriesPolicy, logger: Logger): Plugin {
  const cacheable = new WeakSet<Request>();
  const check = (args: ExecutionArgs, stop: (result: { errors: ReturnType<typeof graphqlError>[] }) => void) => {
    if (policy.mode === 'off') return;
    const context = args.contextValue as { principal?: Principal; params?: PersistedParams };
    // The cheap test first: hashing the document is only for callers held to the manifest.
    if (!context.params || mayRunArbitrary(context.principal, policy) || resolver.isTrusted(context.params)) return;
    if (policy.mode === 'log-only') {
      logger.warn({ subject: context.principal?.subject, operationName: context.params.operationName }, 'would refuse an operation outside the trusted documents (log-only)');
      return;
    }
    stop({ errors: [graphqlError('PERSISTED_QUERY_NOT_ALLOWED', 'Only trusted documents may run with this credential: send a documentId from the manifest')] });
  };
  return {
    onParams({ params, request, setParams }) {
      const sent = request.method === 'GET' ? withDocumentIdOfUrl(params as PersistedParams, request.url) : (params as PersistedParams);
      // A query sent as text has nothing to resolve: no promise for the pipeline to wait on.
      if (!resolver.namesDocument(sent)) return;
      return resolver.resolve(sent).then((next) => {
        setParams(next as typeof params);
        const anonymous = !policy.credentialHeaders.some((name) => request.headers.has(name));
        if (request.method === 'GET' && anonymous && policy.getMaxAgeSeconds > 0) cacheable.add(request);
      });
    },
    onExecute({ args, setResultAndStopExecution }) {
      check(args, setResultAndStopExecution);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      check(args, setResultAndStopExecution);
    },
    onExecutionResult({ request, result }) {
      if (!cacheable.has(request)) return;
      const failed = Symbol.asyncIterator in (result as object) || (Array.isArray(result) ? result : [result]).some((one) => one.errors?.length);
      if (failed) cacheable.delete(request);
    },
    onResponse({ request, response }) {
      if (cacheable.has(request) && response.status === 200) response.headers.set('cache-control', `public, max-age=${policy.getMaxAgeSeconds}`);
    },
  };
}
