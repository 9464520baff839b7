import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { eventsResolvers, eventsSdl } from './fixtures/ticks-subgraphs.js';
import { startAdHocGateway, startAdHocSubgraph, type AdHocGateway, type AdHocSubgraph } from './gateway-kit.js';

type Result = { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };

/** A WebSocket subgraph that accepts connections and never acknowledges them. */
async function startSilentWebSocketSubgraph() {
  const server: Server = createServer((_request, response) => response.writeHead(404).end());
  const sockets = new WebSocketServer({ server, handleProtocols: () => 'graphql-transport-ws' });
  let connections = 0;
  sockets.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    connections: () => connections,
    async close() {
      for (const socket of sockets.clients) socket.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('upstream policy: every way out to a subgraph is bounded', () => {
  let events: AdHocSubgraph;
  let silent: Awaited<ReturnType<typeof startSilentWebSocketSubgraph>>;
  let gateway: AdHocGateway;

  beforeAll(async () => {
    events = await startAdHocSubgraph('events', eventsSdl, eventsResolvers);
    silent = await startSilentWebSocketSubgraph();
    // The supergraph routes `events` to the silent server: HTTP composition used the real one.
    gateway = await startAdHocGateway([{ ...events, url: silent.url }], { SUBGRAPH_TIMEOUT_MS: '500' });
  });
  afterAll(async () => {
    await gateway?.close();
    await silent?.close();
    await events?.close();
  });

  it('regression: a WebSocket subgraph that never acknowledges the connection ends the subscription with SUBGRAPH_UNAVAILABLE instead of hanging', async () => {
    const client = createWsClient({ url: gateway.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    const results: Result[] = [];
    for await (const result of client.iterate({ query: 'subscription { ticks(count: 1) { n } }' }) as AsyncIterableIterator<Result>) results.push(result);
    expect(silent.connections()).toBe(1);
    expect(results.at(-1)!.errors?.[0]?.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'events' });
    await client.dispose();
  });
});
