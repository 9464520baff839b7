import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';

import { eventsResolvers, eventsSdl } from './fixtures/ticks-subgraphs.js';
import { type AdHocGateway, type AdHocSubgraph, startAdHocGateway, startAdHocSubgraph } from './gateway-kit.js';

type Result = { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };

/** A subgraph that takes subscriptions and never answers: no WebSocket ack, no SSE response headers. */
async function startSilentSubgraph() {
  const held: ServerResponse[] = [];
  let connections = 0;
  const server: Server = createServer((_request, response) => {
    connections += 1;
    held.push(response);
  });
  const sockets = new WebSocketServer({ server, handleProtocols: () => 'graphql-transport-ws' });
  sockets.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    connections: () => connections,
    async close() {
      for (const socket of sockets.clients) socket.terminate();
      for (const response of held) response.destroy();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe.each(['ws', 'sse'] as const)('upstream policy: every way out to a subgraph is bounded (subscriptions over %s)', (protocol) => {
  let events: AdHocSubgraph;
  let silent: Awaited<ReturnType<typeof startSilentSubgraph>>;
  let gateway: AdHocGateway;

  beforeAll(async () => {
    events = await startAdHocSubgraph('events', eventsSdl, eventsResolvers);
    silent = await startSilentSubgraph();
    // The supergraph routes `events` to the silent server; its schema is the real subgraph's.
    gateway = await startAdHocGateway([{ ...events, url: silent.url }], { SUBGRAPH_TIMEOUT_MS: '500', SUBGRAPH_SUBSCRIPTION_PROTOCOLS: `events=${protocol}` });
  });
  afterAll(async () => {
    await gateway?.close();
    await silent?.close();
    await events?.close();
  });

  it('regression: a subgraph that never accepts the subscription (WebSocket ack, SSE headers) ends it with SUBGRAPH_UNAVAILABLE instead of hanging', async () => {
    const client = createWsClient({ url: gateway.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    const results: Result[] = [];
    for await (const result of client.iterate({ query: 'subscription { ticks(count: 1) { n } }' }) as AsyncIterableIterator<Result>) results.push(result);
    expect(silent.connections()).toBe(1);
    expect(results.at(-1)!.errors?.[0]?.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'events' });
    await client.dispose();
  });
});
