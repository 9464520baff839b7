import type { Tracer } from '@opentelemetry/api';
import type { Plugin } from 'graphql-yoga';

import { traceHeaders } from '../../lib/tracing/propagation.js';
import { useTracing } from '../../lib/tracing/use-tracing.js';
import type { OnSubgraphRequest } from '../upstream/index.js';

/**
 * The gateway's spans (lib/tracing `useTracing`): one per client request or WebSocket
 * operation, each the root of a new trace (a public caller's `traceparent` is not joined: it
 * would let anyone pick trace ids and force sampling), with parse, validate and execute or
 * subscribe under it; cost (gateway/cost), planning (gateway/engine) and each subgraph fetch
 * (gateway/upstream) nest under execute. Installed only when tracing is on.
 */
export function useGatewayTracing(tracer: Tracer, graphqlEndpoint: string): Plugin {
  return useTracing({ tracer, graphqlEndpoint, joinCallerTrace: false });
}

/**
 * The upstream hook that sends the active span's W3C `traceparent` to the subgraph: as an
 * HTTP header on fetches, as a connection param on WebSocket subscriptions (and a header on
 * SSE ones), so the subgraph's spans join the client request's trace.
 */
export const propagateTraceContext: OnSubgraphRequest = (request) => {
  Object.assign(request.headers, traceHeaders());
};
