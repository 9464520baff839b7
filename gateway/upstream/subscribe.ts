import type { ExecutionResult } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { type Client as WsClient, createClient as createWsClient } from 'graphql-ws';
import { WebSocket } from 'ws';

import { IDENTITY_HEADER } from '../../lib/auth/identity-header.js';
import { early } from '../../lib/early.js';

export type UpstreamProtocol = 'ws' | 'sse';

/**
 * @default 5_000 // ms an upstream WebSocket with no subscription left stays open: the next
 * subscription of the same caller (an app following job after job on one socket) reuses it
 * instead of paying for a new connection and its `connection_init` handshake. Short, since
 * callers that never come back (one SSE request per subscription, each signed anew) leave
 * one idle socket each for this long.
 */
const IDLE_WEBSOCKET_MS = 5_000;

export interface SubscriptionRequest {
  /** The subgraph's HTTP routing URL (`http://…/graphql`); WebSocket uses the same path. */
  url: string;
  protocol: UpstreamProtocol;
  /** The signed identity header the subgraph authenticates the connection with. */
  identity: string;
  /**
   * This subscription's own headers besides the identity (request id, trace context): HTTP
   * headers for SSE; over a shared WebSocket, the subscribe message's `extensions.headers`,
   * since the connection's `connection_init` belongs to its first subscription.
   */
  headers: Record<string, string>;
  payload: { query: string; variables?: Record<string, unknown> | undefined; operationName?: string | undefined };
}

/**
 * Subscription connections to subgraphs. Over WebSocket, one connection per subgraph and
 * signed identity carries every subscription of that caller (graphql-ws multiplexes them):
 * the identity is what the subgraph checks at `connection_init`, so subscriptions that share
 * a socket act for the same principal, exactly as if each had its own. A connection closes
 * once it has carried no subscription for IDLE_WEBSOCKET_MS, or when lost, which fails every
 * subscription on it (no silent retry: each client learns that events may be missing). SSE
 * stays one HTTP stream per subscription.
 */
export function createSubscriptionConnections(options: {
  keepAliveMs: number;
  /** How long a subgraph may take to accept the subscription (WebSocket ack, SSE response headers). */
  connectTimeoutMs: number;
}) {
  const sockets = new Map<string, WsClient>();

  const socketFor = (url: string, identity: string) => {
    const key = `${url}\n${identity}`;
    let client = sockets.get(key);
    if (!client) {
      const opened = createWsClient({
        url: url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { [IDENTITY_HEADER]: identity },
        connectionAckWaitTimeout: options.connectTimeoutMs,
        lazy: true,
        lazyCloseTimeout: IDLE_WEBSOCKET_MS,
        retryAttempts: 0,
        keepAlive: options.keepAliveMs,
      });
      // A closed connection is never reused: the next subscription opens a fresh one. (Not
      // disposed here: that would complete its subscriptions before they get the close as an error.)
      opened.on('closed', () => {
        if (sockets.get(key) === opened) sockets.delete(key);
      });
      sockets.set(key, opened);
      client = opened;
    }
    return client;
  };

  return {
    open(request: SubscriptionRequest): AsyncIterableIterator<ExecutionResult> {
      if (request.protocol === 'sse') {
        const client = createSseClient({
          url: request.url,
          singleConnection: false,
          retryAttempts: 0,
          headers: { ...request.headers, [IDENTITY_HEADER]: request.identity },
          fetchFn: connectBounded(options.connectTimeoutMs),
        });
        return disposing(client.iterate(request.payload) as AsyncIterableIterator<ExecutionResult>, () => client.dispose());
      }
      return socketFor(request.url, request.identity).iterate({
        ...request.payload,
        extensions: { headers: request.headers },
      }) as AsyncIterableIterator<ExecutionResult>;
    },
    /** Closes every WebSocket connection (their subscriptions end). */
    async close(): Promise<void> {
      const clients = [...sockets.values()];
      sockets.clear();
      await Promise.all(clients.map((client) => client.dispose()));
    },
  };
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

/**
 * An iterator over the one `start` makes; `start` runs at once (its failure is the first
 * `next()`'s), so a subscription is under way before anyone awaits its first event.
 */
export function startedNow<T>(start: () => Promise<AsyncIterableIterator<T>>): AsyncIterableIterator<T> {
  const inner = early(start);
  let returned = false;
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      const iterator = await inner();
      return returned ? { done: true, value: undefined } : iterator.next();
    },
    async return(value?: unknown) {
      returned = true;
      await (await inner().catch(() => null))?.return?.(value);
      return { done: true, value: undefined };
    },
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
