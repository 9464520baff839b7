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
  /** How long a WebSocket subgraph may take to acknowledge the connection. */
  connectTimeoutMs: number;
}): AsyncIterableIterator<ExecutionResult> {
  if (request.protocol === 'sse') {
    const client = createSseClient({ url: request.url, singleConnection: false, retryAttempts: 0, headers: request.headers });
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
