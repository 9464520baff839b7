import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { buildSchema, type ExecutionResult } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';

import { IDENTITY_HEADER } from '../../lib/auth/identity-header.js';
import { createUpstream } from './index.js';

/** A graphql-ws subgraph stand-in: `count(n)` yields 1…n; notes each connection's init payload and each subscribe's extensions. */
async function startWsSubgraph() {
  const connections: Array<Record<string, unknown>> = [];
  const subscribes: Array<Record<string, unknown> | undefined> = [];
  let open = 0;
  let onAllClosed: (() => void) | null = null;
  const schema = buildSchema('type Query { ok: Boolean } type Subscription { count(n: Int!): Int }');
  const roots = {
    count: async function* ({ n }: { n: number }) {
      for (let i = 1; i <= n; i++) yield { count: i };
    },
  };
  const server = createServer();
  const wsServer = new WebSocketServer({ server, path: '/graphql' });
  wsServer.on('connection', (socket) => {
    open++;
    socket.on('close', () => {
      if (--open === 0) onAllClosed?.();
    });
  });
  const disposable = useServer(
    {
      schema,
      roots: { subscription: roots },
      onConnect: (ctx) => {
        connections.push(ctx.connectionParams ?? {});
        return true;
      },
      onSubscribe: (_ctx, _id, params) => {
        subscribes.push(params.extensions ?? undefined);
      },
    },
    wsServer,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    connections,
    subscribes,
    openSockets: () => open,
    /** Resolves once no socket is open. */
    allClosed: () => new Promise<void>((resolve) => (open === 0 ? resolve() : (onAllClosed = resolve))),
    async close() {
      await disposable.dispose();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function collect(iterator: AsyncIterableIterator<ExecutionResult>): Promise<unknown[]> {
  const values: unknown[] = [];
  for await (const result of { [Symbol.asyncIterator]: () => iterator }) values.push((result.data as { count: number }).count);
  return values;
}

const count = (n: number) => ({ query: 'subscription C($n: Int!) { count(n: $n) }', variables: { n } });

describe('upstream subscriptions over WebSocket', () => {
  let subgraph: Awaited<ReturnType<typeof startWsSubgraph>>;
  let upstream: ReturnType<typeof createUpstream>;
  let operation = 0;
  let closed = false;

  beforeAll(async () => {
    subgraph = await startWsSubgraph();
    upstream = createUpstream({
      subgraphs: [{ name: 'events', url: subgraph.url }],
      timeoutMs: 5_000,
      connectionsPerSubgraph: 2,
      deduplicate: true,
      keepAliveMs: 10_000,
      protocolOf: () => 'ws',
      registry: new Registry(),
      hooks: [(request) => void (request.headers['x-operation'] = String(++operation))],
    });
  });
  afterAll(async () => {
    if (!closed) await upstream?.close();
    await subgraph?.close();
  });

  it("carries a caller's subscriptions, at once and one after another, on one connection; each sends its own headers", async () => {
    const caller = { identityHeader: async () => 'identity-a', requestId: 'req-a' };
    const together = await Promise.all([collect(upstream.subscribe('events', count(3), caller)), collect(upstream.subscribe('events', count(2), caller))]);
    expect(together).toEqual([[1, 2, 3], [1, 2]]);
    expect(await collect(upstream.subscribe('events', count(1), caller))).toEqual([1]);

    // The identity authenticates the connection once; the per-subscription headers travel with each subscribe.
    expect(subgraph.connections).toEqual([{ [IDENTITY_HEADER]: 'identity-a' }]);
    expect(subgraph.subscribes).toEqual([1, 2, 3].map((n) => ({ headers: { 'x-request-id': 'req-a', 'x-operation': String(n) } })));
    expect(subgraph.openSockets()).toBe(1);
  });

  it('never lets callers with different identities share a connection', async () => {
    const before = subgraph.connections.length;
    await Promise.all(
      ['identity-b', 'identity-c'].map(async (identity) => collect(upstream.subscribe('events', count(1), { identityHeader: async () => identity }))),
    );
    expect(subgraph.connections.slice(before)).toEqual(
      expect.arrayContaining([{ [IDENTITY_HEADER]: 'identity-b' }, { [IDENTITY_HEADER]: 'identity-c' }]),
    );
    expect(subgraph.connections.length - before).toBe(2);
  });

  it('closes its connections, idle ones included, on close()', async () => {
    expect(subgraph.openSockets()).toBeGreaterThan(0);
    const closing = performance.now();
    await upstream.close();
    closed = true;
    await subgraph.allClosed();
    // Far sooner than the connections' idle time (5 s): closing, not idling out, ended them.
    expect(performance.now() - closing).toBeLessThan(1_000);
  });
});
