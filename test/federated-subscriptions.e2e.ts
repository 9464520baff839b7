import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { sleep, startTicksPlatform, type TicksPlatform, upstream } from './fixtures/ticks-subgraphs.js';
import type { AdHocGateway, AdHocSubgraph } from './gateway-kit.js';

type Result = { data?: any; errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }> };

async function collect(iterator: AsyncIterableIterator<Result>, limit = Infinity): Promise<Result[]> {
  const results: Result[] = [];
  for await (const result of iterator) {
    results.push(result);
    if (results.length >= limit) break;
  }
  return results;
}

const waitFor = async (condition: () => boolean, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(10);
  }
};

describe.each(['ws', 'sse'] as const)('federated subscriptions through the gateway (upstream over %s)', (protocol) => {
  let ticks: TicksPlatform;
  let people: AdHocSubgraph;
  let gateway: AdHocGateway;
  const clients: Array<{ dispose(): unknown }> = [];

  beforeAll(async () => {
    ticks = await startTicksPlatform({ SUBGRAPH_SUBSCRIPTION_PROTOCOLS: `events=${protocol}`, MAX_SUBSCRIPTIONS_PER_PRINCIPAL: '3' });
    ({ people, gateway } = ticks);
  });
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await ticks?.close();
  });

  const wsClient = (headers: Record<string, string> = {}) => {
    const client = createWsClient({ url: gateway.wsUrl, webSocketImpl: WebSocket, connectionParams: headers, retryAttempts: 0 });
    clients.push(client);
    return client;
  };
  const sseClient = (headers: Record<string, string> = {}) => {
    const client = createSseClient({ url: gateway.url, singleConnection: false, retryAttempts: 0, headers });
    clients.push(client);
    return client;
  };

  it('streams events with entity fields resolved from a second subgraph, over graphql-ws and SSE', async () => {
    const query = 'subscription { ticks(count: 3) { n author { id name } } }';
    const expected = [1, 2, 3].map((n) => ({ data: { ticks: { n, author: { id: `u${n % 2}`, name: `Name u${n % 2}` } } } }));
    expect(await collect(wsClient().iterate({ query }) as AsyncIterableIterator<Result>)).toEqual(expected);
    expect(await collect(sseClient().iterate({ query }) as AsyncIterableIterator<Result>)).toEqual(expected);
  });

  it('bubbles errors and nulls per event exactly as for queries', async () => {
    const query = 'subscription { ticks(count: 2) { n note author { nickname } } }';
    const results = await collect(wsClient().iterate({ query }) as AsyncIterableIterator<Result>);
    expect(results.map((r) => r.data)).toEqual([
      { ticks: { n: 1, note: 'note 1', author: { nickname: null } } },
      { ticks: { n: 2, note: null, author: { nickname: 'nick u0' } } },
    ]);
    expect(results[0]!.errors).toMatchObject([{ message: 'no nickname for u1', path: ['ticks', 'author', 'nickname'], extensions: { serviceName: 'people', code: 'SUBGRAPH_ERROR' } }]);
    expect(results[1]!.errors).toMatchObject([{ message: 'note 2 is unreadable', path: ['ticks', 'note'] }]);
  });

  it('shares one upstream subscription and one entity fetch per event among identical subscriptions', async () => {
    const startedBefore = upstream.started;
    const entityFetchesBefore = people.received.filter((query) => query.includes('_entities')).length;
    const query = 'subscription { ticks(count: 3, intervalMs: 250) { n author { name } } }';
    const auth = await gateway.bearer([], { userId: 'same-user' });
    const [a, b, c] = await Promise.all([
      collect(wsClient(auth).iterate({ query }) as AsyncIterableIterator<Result>),
      collect(wsClient(auth).iterate({ query }) as AsyncIterableIterator<Result>),
      collect(sseClient(auth).iterate({ query }) as AsyncIterableIterator<Result>),
    ]);
    expect(a).toHaveLength(3);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(upstream.started - startedBefore).toBe(1);
    expect(people.received.filter((query) => query.includes('_entities')).length - entityFetchesBefore).toBe(3);
  });

  it('closes the upstream subscription when the client cancels', async () => {
    const iterator = wsClient().iterate({ query: 'subscription { ticks(count: 1000) { n } }' }) as AsyncIterableIterator<Result>;
    expect(await collect(iterator, 2)).toHaveLength(2);
    await waitFor(() => upstream.open === 0);
    await waitFor(() => gateway.gateway.subscriptions.openSubscriptions() === 0);
  });

  it('refuses a subscription beyond the per-caller limit with SUBSCRIPTION_LIMIT_EXCEEDED', async () => {
    const auth = await gateway.bearer([], { userId: 'greedy' });
    const client = wsClient(auth);
    const held = [1, 2, 3].map(() => client.iterate({ query: 'subscription { ticks(count: 1000, intervalMs: 50) { n } }' }) as AsyncIterableIterator<Result>);
    await Promise.all(held.map((iterator) => iterator.next()));
    const [refused] = await collect(client.iterate({ query: 'subscription { ticks(count: 1) { n } }' }) as AsyncIterableIterator<Result>);
    expect(refused!.errors?.[0]?.extensions?.code).toBe('SUBSCRIPTION_LIMIT_EXCEEDED');
    for (const iterator of held) await iterator.return!();
    await waitFor(() => upstream.open === 0);
  });
});

describe('subscription lifecycle limits and failures', () => {
  let ticks: TicksPlatform;
  let events: AdHocSubgraph;
  let gateway: AdHocGateway;

  beforeAll(async () => {
    ticks = await startTicksPlatform({
      // Longer than the short-lived token below, so each ending is the one its test expects.
      SUBSCRIPTION_MAX_LIFETIME_SECONDS: '6',
      SUBSCRIPTION_KEEPALIVE_MS: '100',
      CONNECTION_INIT_TIMEOUT_MS: '300',
    });
    ({ events, gateway } = ticks);
  });
  afterAll(() => ticks?.close());

  const subscribe = (headers: Record<string, string>, query: string) => {
    const client = createWsClient({ url: gateway.wsUrl, webSocketImpl: WebSocket, connectionParams: headers, retryAttempts: 0 });
    return { client, iterator: client.iterate({ query }) as AsyncIterableIterator<Result> };
  };

  it('ends a subscription at its maximum lifetime with SUBSCRIPTION_EXPIRED', async () => {
    const { client, iterator } = subscribe({}, 'subscription { ticks(count: 10000, intervalMs: 100) { n } }');
    const results = await collect(iterator);
    expect(results.at(-1)!.errors?.[0]?.extensions?.code).toBe('SUBSCRIPTION_EXPIRED');
    expect(results.length).toBeGreaterThan(3);
    await client.dispose();
    await waitFor(() => upstream.open === 0);
  });

  it('ends a subscription when its access token expires, with UNAUTHENTICATED', async () => {
    // 2 s: a token minted late in a second (its iat is whole seconds) still outlives the
    // connection. The stream would run 500 s; it must end with the token.
    const { client, iterator } = subscribe(await gateway.bearer([], { lifetimeSeconds: 2 }), 'subscription { ticks(count: 10000, intervalMs: 50) { n } }');
    const results = await collect(iterator);
    expect(results.at(-1)!.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(results.length).toBeLessThan(10_000);
    await client.dispose();
  });

  it('ends a subscription when its caller is revoked', async () => {
    const { client, iterator } = subscribe(await gateway.bearer([], { userId: 'to-be-revoked' }), 'subscription { ticks(count: 10000, intervalMs: 50) { n } }');
    await iterator.next();
    gateway.gateway.subscriptions.endSubscriptionsOf((p) => p.userId === 'to-be-revoked', 'Session revoked');
    const rest = await collect(iterator);
    expect(rest.at(-1)!.errors?.[0]).toMatchObject({ message: 'Session revoked', extensions: { code: 'UNAUTHENTICATED' } });
    await client.dispose();
  });

  it('pings idle WebSocket clients and closes those that never send connection_init (4408)', async () => {
    const socket = new WebSocket(gateway.wsUrl, 'graphql-transport-ws');
    let pings = 0;
    socket.on('ping', () => (pings += 1));
    const code = await new Promise<number>((resolve) => socket.on('close', (closeCode) => resolve(closeCode)));
    expect(code).toBe(4408);
    expect(pings).toBeGreaterThanOrEqual(1);
  });

  it('sends an error event and completes cleanly when the subgraph dies mid-stream, leaking no upstream', async () => {
    const { client, iterator } = subscribe({}, 'subscription { ticks(count: 10000, intervalMs: 30) { n author { name } } }');
    expect((await iterator.next()).value).toMatchObject({ data: { ticks: { n: 1 } } });
    await events.close();
    const rest = await collect(iterator);
    expect(rest.at(-1)!.errors?.[0]?.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'events' });
    expect(gateway.gateway.subscriptions.openSubscriptions()).toBe(0);
    await client.dispose();
  });
});
