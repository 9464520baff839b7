import { SpanKind, type Tracer } from '@opentelemetry/api';
import { type ExecutionResult, GraphQLError } from 'graphql';
import { Counter, Histogram, type Registry } from 'prom-client';
import { Pool } from 'undici';

import { IDENTITY_HEADER } from '../../lib/auth/identity-header.js';
import { METRIC_NAMESPACE } from '../../lib/metrics.js';
import { inSpan } from '../../lib/tracing/spans.js';
import type { GatewayConfig } from '../config.js';
import { createSubscriptionConnections, startedNow, type UpstreamProtocol } from './subscribe.js';

export type { UpstreamProtocol } from './subscribe.js';

export interface SubgraphEndpoint {
  name: string;
  url: string;
}

/**
 * What a request to a subgraph needs of whoever makes it: the identity the subgraph verifies.
 * Declared here so this module never depends on `auth/`; `AuthContext` satisfies it.
 */
export interface UpstreamCaller {
  identityHeader(): Promise<string>;
  /** The client request's id (gateway/access-log), sent as `x-request-id` so subgraph logs can be joined to it. */
  requestId?: string | undefined;
}

const REQUEST_ID_HEADER = 'x-request-id';

/** One request about to leave for a subgraph, as the hooks see it. */
export interface SubgraphRequest {
  subgraph: string;
  kind: 'fetch' | 'subscription' | 'probe';
  /** The headers (or WebSocket connection params) sent; hooks may add to them (tracing). */
  headers: Record<string, string>;
}

/** Where later features attach to every request to a subgraph (tracing headers, mTLS, retries). */
export type OnSubgraphRequest = (request: SubgraphRequest) => void | Promise<void>;

export interface GraphQLRequestBody {
  query: string;
  variables?: Record<string, unknown> | undefined;
  operationName?: string | undefined;
}

/** How one `execute` call may be served. */
export interface ExecuteOptions {
  /**
   * The request is a query (never a mutation): while an identical one (same subgraph, body and
   * identity header) is in flight, this one waits for that one's response instead of sending
   * its own. Only the engine knows the operation type, so it says so.
   */
  dedupe?: boolean | undefined;
}

export interface UpstreamOptions {
  subgraphs: readonly SubgraphEndpoint[];
  /** Every request to a subgraph is bounded by this (a probe may ask for its own bound). */
  timeoutMs: number;
  /** Keep-alive connections per subgraph; requests beyond wait for a free one. */
  connectionsPerSubgraph: number;
  /** Whether `execute(…, { dedupe: true })` shares identical in-flight fetches (off: every call fetches). */
  deduplicate: boolean;
  /** WebSocket keep-alive towards subgraphs, so dead upstream connections are noticed. */
  keepAliveMs: number;
  protocolOf: (subgraph: string) => UpstreamProtocol;
  registry: Registry;
  hooks?: readonly OnSubgraphRequest[];
  /** When set (tracing on), each fetch is a client span, active while the hooks run (so they can send its traceparent). */
  tracer?: Tracer | undefined;
}

/** The span of one fetch from a subgraph, and its attribute naming the subgraph. */
export const SUBGRAPH_FETCH_SPAN = 'subgraph.fetch';
export const ATTR_SUBGRAPH_NAME = 'lotabots.subgraph.name';

/**
 * The one way out to the subgraphs: HTTP fetches, subscription connections and health probes.
 * One policy for all of them: the identity header on every request, every request bounded by
 * a timeout, no retries (a caller that sees SUBGRAPH_UNAVAILABLE decides), one fetch histogram,
 * and transport failures mapped to SUBGRAPH_UNAVAILABLE naming the subgraph, without its URL
 * or response body. HTTP goes through one undici keep-alive pool per subgraph: a request
 * reuses a warm connection instead of paying for fetch()'s WHATWG layers and a new socket.
 */
export function createUpstream(options: UpstreamOptions) {
  const fetchDuration = new Histogram({
    name: `${METRIC_NAMESPACE}_subgraph_fetch_duration_seconds`,
    help: 'Duration of gateway-to-subgraph HTTP fetches, by subgraph and outcome (ok, unavailable); a fetch shared by de-duplicated callers counts once.',
    labelNames: ['subgraph', 'outcome'] as const,
    registers: [options.registry],
  });
  const endpoints = new Map(
    options.subgraphs.map((s) => {
      const url = new URL(s.url);
      // Children bound once: observing with a labels object hashes the labels on every fetch.
      const durations = { ok: fetchDuration.labels(s.name, 'ok'), unavailable: fetchDuration.labels(s.name, 'unavailable') };
      return [s.name, { url: s.url, path: url.pathname + url.search, pool: new Pool(url.origin, { connections: options.connectionsPerSubgraph }), durations }];
    }),
  );
  const hooks = options.hooks ?? [];
  const connections = createSubscriptionConnections({ keepAliveMs: options.keepAliveMs, connectTimeoutMs: options.timeoutMs });
  const sharedFetches = new Counter({
    name: `${METRIC_NAMESPACE}_subgraph_fetches_shared_total`,
    help: 'Subgraph queries answered by an identical in-flight fetch instead of a request of their own, by subgraph.',
    labelNames: ['subgraph'] as const,
    registers: [options.registry],
  });
  /** Response texts of de-duplicable fetches in flight, by subgraph, identity and body. */
  const inFlight = new Map<string, Promise<string>>();
  const endpointOf = (subgraph: string) => {
    const endpoint = endpoints.get(subgraph);
    if (!endpoint) throw new Error(`unknown subgraph ${subgraph}`);
    return endpoint;
  };
  /** The request id and the hooks' headers, after the identity header. */
  const headersFor = async (subgraph: string, kind: SubgraphRequest['kind'], caller: UpstreamCaller, identity?: string) => {
    const headers: Record<string, string> = { [IDENTITY_HEADER]: identity ?? (await caller.identityHeader()) };
    if (caller.requestId) headers[REQUEST_ID_HEADER] = caller.requestId;
    for (const hook of hooks) await hook({ subgraph, kind, headers });
    return headers;
  };
  /** The response text of a 2xx answer; anything else throws (mapped by subgraphUnavailable). */
  const post = async (subgraph: string, body: string, headers: Record<string, string>, timeoutMs: number) => {
    const { pool, path } = endpointOf(subgraph);
    // A timer cleared when the answer is in, not AbortSignal.timeout: that one's timer stays
    // and fires after every fetch, long done, making a TimeoutError for nobody.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new DOMException('subgraph did not answer in time', 'TimeoutError')), timeoutMs);
    try {
      const response = await pool.request({
        method: 'POST',
        path,
        headers: { ...headers, 'content-type': 'application/json' },
        body,
        signal: timeout.signal,
      });
      if (response.statusCode < 200 || response.statusCode > 299) {
        await response.body.dump();
        throw new HttpStatusError(response.statusCode);
      }
      return await response.body.text();
    } finally {
      clearTimeout(timer);
    }
  };
  /** One timed fetch: the histogram counts requests that left, shared or not. */
  const fetchText = async (subgraph: string, body: string, caller: UpstreamCaller, identity: string) => {
    const { durations } = endpointOf(subgraph);
    const startedAt = performance.now();
    try {
      const text = await post(subgraph, body, await headersFor(subgraph, 'fetch', caller, identity), options.timeoutMs);
      durations.ok.observe((performance.now() - startedAt) / 1000);
      return text;
    } catch (error) {
      durations.unavailable.observe((performance.now() - startedAt) / 1000);
      throw error;
    }
  };
  /**
   * The response of an identical fetch in flight, or of a new one that later identical calls
   * join. The key holds the identity header, so callers with different principals never share.
   * Joiners send nothing: their request id and hooks do not reach the subgraph.
   */
  const sharedFetchText = async (subgraph: string, body: string, caller: UpstreamCaller, identity: string) => {
    const key = `${subgraph}\n${identity}\n${body}`;
    const pending = inFlight.get(key);
    if (pending) {
      sharedFetches.inc({ subgraph });
      return pending;
    }
    const fetched = fetchText(subgraph, body, caller, identity);
    inFlight.set(key, fetched);
    try {
      return await fetched;
    } finally {
      inFlight.delete(key);
    }
  };

  return {
    subgraphs: options.subgraphs,
    /**
     * Runs one GraphQL request on a subgraph: its result, or a SUBGRAPH_UNAVAILABLE error thrown.
     * Each caller gets a result object of its own, also when the fetch was shared (the response
     * text is parsed per caller), so engines may merge into it in place (Apollo's does).
     */
    execute(subgraph: string, request: GraphQLRequestBody, caller: UpstreamCaller, executeOptions?: ExecuteOptions): Promise<ExecutionResult> {
      return inSpan(
        options.tracer,
        SUBGRAPH_FETCH_SPAN,
        async () => {
          try {
            const body = JSON.stringify(request);
            const identity = await caller.identityHeader();
            const text = options.deduplicate && executeOptions?.dedupe
              ? await sharedFetchText(subgraph, body, caller, identity)
              : await fetchText(subgraph, body, caller, identity);
            return JSON.parse(text) as ExecutionResult;
          } catch (error) {
            throw subgraphUnavailable(subgraph, error);
          }
        },
        { kind: SpanKind.CLIENT, attributes: { [ATTR_SUBGRAPH_NAME]: subgraph } },
      );
    },
    /** `{ __typename }` on the subgraph, which every GraphQL server answers. */
    async probe(subgraph: string, caller: UpstreamCaller, timeoutMs: number): Promise<'up' | 'down'> {
      try {
        const text = await post(subgraph, '{"query":"{__typename}"}', await headersFor(subgraph, 'probe', caller), timeoutMs);
        return (JSON.parse(text) as ExecutionResult<{ __typename?: string }>).data?.__typename ? 'up' : 'down';
      } catch {
        return 'down';
      }
    },
    /**
     * Opens one subscription on a subgraph and yields its events; over WebSocket it shares the
     * caller's connection to that subgraph (subscribe.ts). Ending the iteration closes the
     * subscription. A lost connection ends the iteration with an error; there is no silent
     * retry, so the client learns that events may be missing.
     */
    subscribe(subgraph: string, request: GraphQLRequestBody, caller: UpstreamCaller): AsyncIterableIterator<ExecutionResult> {
      const { url } = endpointOf(subgraph);
      return startedNow(async () => {
        const identity = await caller.identityHeader();
        const { [IDENTITY_HEADER]: _identity, ...headers } = await headersFor(subgraph, 'subscription', caller, identity);
        return connections.open({ url, protocol: options.protocolOf(subgraph), identity, headers, payload: request });
      });
    },
    /** Closes the keep-alive connections once requests in flight are answered. */
    async close(): Promise<void> {
      await Promise.all([...endpoints.values()].map(({ pool }) => pool.close()).concat(connections.close()));
    },
  };
}

export type Upstream = ReturnType<typeof createUpstream>;

/**
 * The gateway's upstream, with its policy from the config; with a tracer, each fetch is a span
 * and every request carries the W3C trace context (`hooks`, from gateway/tracing).
 */
export function createGatewayUpstream(
  config: GatewayConfig,
  subgraphs: readonly SubgraphEndpoint[],
  registry: Registry,
  tracing: { tracer?: Tracer | undefined; hooks?: readonly OnSubgraphRequest[] } = {},
): Upstream {
  return createUpstream({
    subgraphs,
    timeoutMs: config.SUBGRAPH_TIMEOUT_MS,
    connectionsPerSubgraph: config.SUBGRAPH_CONNECTIONS,
    deduplicate: config.SUBGRAPH_DEDUPLICATION,
    keepAliveMs: config.SUBSCRIPTION_KEEPALIVE_MS,
    protocolOf: (subgraph) => config.SUBGRAPH_SUBSCRIPTION_PROTOCOLS[subgraph] ?? 'ws',
    registry,
    tracer: tracing.tracer,
    hooks: tracing.hooks,
  });
}

class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`http ${status}`);
  }
}

/** The error every failed request to a subgraph becomes. */
export function subgraphUnavailable(subgraph: string, error: unknown): GraphQLError {
  return new GraphQLError(`Subgraph "${subgraph}" is unavailable`, {
    extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: subgraph, reason: describe(error) },
  });
}

function describe(error: unknown): string {
  if (error instanceof HttpStatusError) return error.message;
  if (error instanceof SyntaxError) return 'invalid JSON';
  if ((error as Error | undefined)?.name === 'TimeoutError') return 'timeout';
  // undici puts the code (ECONNREFUSED, UND_ERR_SOCKET, …) on the error itself.
  return (error as { code?: string } | undefined)?.code ?? 'network error';
}
