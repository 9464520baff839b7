import type { ExecutionResult } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import { IDENTITY_HEADER } from '../../lib/auth/identity-header.js';

export type UpstreamProtocol = 'ws' | 'sse';

export interface UpstreamRequest {
  /** The subgraph's HTTP routing URL (`http://…/graphql`); WebSocket uses the same path. */
  url: string;
  protocol: UpstreamProtocol;
  /** Called when the connection opens (see `AuthContext.identityHeader`). */
  identityHeader: () => Promise<string>;
  query: string;
  variables: Record<string, unknown>;
  operationName?: string | undefined;
  /** @default 12_000 // ms between WebSocket pings, so dead upstream connections are noticed. */
  keepAliveMs: number;
}

/**
 * Opens one subscription on a subgraph and yields its events. Ending the iteration (return)
 * closes the upstream subscription and its connection. A lost connection ends the iteration
 * with an error; there is no silent retry, so the client learns that events may be missing.
 */
export function openUpstream(request: UpstreamRequest): AsyncIterableIterator<ExecutionResult> {
  const payload = { query: request.query, variables: request.variables, operationName: request.operationName };
  if (request.protocol === 'sse') {
    const client = createSseClient({
      url: request.url,
      singleConnection: false,
      retryAttempts: 0,
      headers: async () => ({ [IDENTITY_HEADER]: await request.identityHeader() }),
    });
    return disposing(client.iterate(payload) as AsyncIterableIterator<ExecutionResult>, () => client.dispose());
  }
  const client = createWsClient({
    url: request.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: async () => ({ [IDENTITY_HEADER]: await request.identityHeader() }),
    lazy: true,
    retryAttempts: 0,
    keepAlive: request.keepAliveMs,
  });
  return disposing(client.iterate(payload) as AsyncIterableIterator<ExecutionResult>, () => client.dispose());
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
