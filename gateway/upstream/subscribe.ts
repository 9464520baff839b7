import type { ExecutionResult } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { WebSocket } from 'ws';

export type UpstreamProtocol = 'ws' | 'sse';

/** One subscription connection to a subgraph (see `Upstream.subscribe`). */
export function openSubscription(request: {
  /** The subgraph's HTTP routing URL (`http://…/graphql`); WebSocket uses the same path. */
  url: string;
  protocol: UpstreamProtocol;
  /** Called when the connection opens: HTTP headers for SSE, connection params for WebSocket. */
  headers: () => Promise<Record<string, string>>;
  payload: { query: string; variables?: Record<string, unknown> | undefined; operationName?: string | undefined };
  keepAliveMs: number;
  /** How long a subgraph may take to accept the subscription (WebSocket ack, SSE response headers). */
  connectTimeoutMs: number;
}): AsyncIterableIterator<ExecutionResult> {
  if (request.protocol === 'sse') {
    const client = createSseClient({
      url: request.url,
      singleConnection: false,
      retryAttempts: 0,
      headers: request.headers,
      fetchFn: connectBounded(request.connectTimeoutMs),
    });
    return disposing(client.iterate(request.payload) as AsyncIterableIterator<ExecutionResult>, () => client.dispose());
  }
  const client = createWsClient({
    url: request.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: request.headers,
    connectionAckWaitTimeout: request.connectTimeoutMs,
    lazy: true,
    retryAttempts: 0,
    keepAlive: request.keepAliveMs,
  });
  return disposing(client.iterate(request.payload) as AsyncIterableIterator<ExecutionResult>, () => client.dispose());
}

/**
 * fetch for a long-lived stream: aborted if the response headers take longer than `timeoutMs`,
 * never once the stream is open (AbortSignal.timeout would cut every stream at that age).
 */
function connectBounded(timeoutMs: number): typeof fetch {
  return async (input, init) => {
    const connect = new AbortController();
    const timer = setTimeout(() => connect.abort(new DOMException('subgraph did not answer in time', 'TimeoutError')), timeoutMs);
    try {
      return await fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, connect.signal]) : connect.signal });
    } finally {
      clearTimeout(timer);
    }
  };
}

function disposing<T>(iterator: AsyncIterableIterator<T>, dispose: () => void | Promise<void>): AsyncIterableIterator<T> {
  const release = async () => {
    await dispose();
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      try {
        const result = await iterator.next();
        if (result.done) await release();
        return result;
      } catch (error) {
        await release();
        throw error;
      }
    },
    async return(value?: unknown) {
      await iterator.return?.(value);
      await release();
      return { done: true, value: undefined };
    },
  };
}
