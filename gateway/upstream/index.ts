import { context, SpanKind, type Tracer } from '@opentelemetry/api';
import { type ExecutionResult, GraphQLError } from 'graphql';
import { Histogram, type Registry } from 'prom-client';

import { IDENTITY_HEADER } from '../../lib/auth/identity-header.js';
import { METRIC_NAMESPACE } from '../../lib/metrics.js';
import { inSpan } from '../../lib/tracing/spans.js';
import type { GatewayConfig } from '../config.js';
import { openSubscription, type UpstreamProtocol } from './subscribe.js';

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

export interface UpstreamOptions {
  subgraphs: readonly SubgraphEndpoint[];
  /** Every request to a subgraph is bounded by this (a probe may ask for its own bound). */
  timeoutMs: number;
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
 * or response body.
 */
export function createUpstream(options: UpstreamOptions) {
  const urls = new Map(options.subgraphs.map((s) => [s.name, s.url]));
  const hooks = options.hooks ?? [];
  const fetchDuration = new Histogram({
    name: `${METRIC_NAMESPACE}_subgraph_fetch_duration_seconds`,
    help: 'Duration of gateway-to-subgraph HTTP fetches, by subgraph and outcome (ok, unavailable).',
    labelNames: ['subgraph', 'outcome'] as const,
    registers: [options.registry],
  });
  const urlOf = (subgraph: string) => {
    const url = urls.get(subgraph);
    if (!url) throw new Error(`unknown subgraph ${subgraph}`);
    return url;
  };
  const headersFor = async (subgraph: string, kind: SubgraphRequest['kind'], caller: UpstreamCaller) => {
    const headers: Record<string, string> = { [IDENTITY_HEADER]: await caller.identityHeader() };
    if (caller.requestId) headers[REQUEST_ID_HEADER] = caller.requestId;
    for (const hook of hooks) await hook({ subgraph, kind, headers });
    return headers;
  };
  const post = async (subgraph: string, body: string, headers: Record<string, string>, timeoutMs: number) => {
    const response = await fetch(urlOf(subgraph), {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new HttpStatusError(response.status);
    }
    return (await response.json()) as ExecutionResult;
  };

  return {
    subgraphs: options.subgraphs,
    /** Runs one GraphQL request on a subgraph: its result, or a SUBGRAPH_UNAVAILABLE error thrown. */
    execute(subgraph: string, request: GraphQLRequestBody, caller: UpstreamCaller): Promise<ExecutionResult> {
      return inSpan(
        options.tracer,
        SUBGRAPH_FETCH_SPAN,
        async () => {
          const stop = fetchDuration.startTimer({ subgraph });
          try {
            const result = await post(subgraph, JSON.stringify(request), await headersFor(subgraph, 'fetch', caller), options.timeoutMs);
            stop({ outcome: 'ok' });
            return result;
          } catch (error) {
            stop({ outcome: 'unavailable' });
            throw subgraphUnavailable(subgraph, error);
          }
        },
        { kind: SpanKind.CLIENT, attributes: { [ATTR_SUBGRAPH_NAME]: subgraph } },
      );
    },
    /** `{ __typename }` on the subgraph, which every GraphQL server answers. */
    async probe(subgraph: string, caller: UpstreamCaller, timeoutMs: number): Promise<'up' | 'down'> {
      try {
        const result = await post(subgraph, '{"query":"{__typename}"}', await headersFor(subgraph, 'probe', caller), timeoutMs);
        return (result.data as { __typename?: string } | null | undefined)?.__typename ? 'up' : 'down';
      } catch {
        return 'down';
      }
    },
    /**
     * Opens one subscription on a subgraph and yields its events. Ending the iteration closes
     * it and its connection. A lost connection ends the iteration with an error; there is no
     * silent retry, so the client learns that events may be missing.
     */
    subscribe(subgraph: string, request: GraphQLRequestBody, caller: UpstreamCaller): AsyncIterableIterator<ExecutionResult> {
      // The connection opens later, wherever its first event is awaited: the hooks see the
      // trace context of the operation that subscribed, not that of the awaiting code.
      const subscriber = context.active();
      return openSubscription({
        url: urlOf(subgraph),
        protocol: options.protocolOf(subgraph),
        headers: () => context.with(subscriber, () => headersFor(subgraph, 'subscription', caller)),
        payload: request,
        keepAliveMs: options.keepAliveMs,
        connectTimeoutMs: options.timeoutMs,
      });
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
  if ((error as Error | undefined)?.name === 'TimeoutError') return 'timeout';
  const cause = (error as { cause?: { code?: string } } | undefined)?.cause;
  return cause?.code ?? 'network error';
}
