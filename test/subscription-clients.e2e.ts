import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient as createUrqlClient, fetchExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipe, scan, take, toPromise } from 'wonka';
import { WebSocket } from 'ws';

import { startTicksPlatform, type TicksPlatform } from './fixtures/ticks-subgraphs.js';
import type { AdHocGateway } from './gateway-kit.js';

const TICKS = 'subscription Ticks { ticks(count: 3, intervalMs: 20) { n author { id name } } }';
const expected = [1, 2, 3].map((n) => ({ ticks: { __typename: 'Tick', n, author: { __typename: 'User', id: `u${n % 2}`, name: `Name u${n % 2}` } } }));
const withoutTypenames = (value: unknown) => JSON.parse(JSON.stringify(value, (key, v) => (key === '__typename' ? undefined : v)));

/** Collects every `data` an Observable-like emits until it completes. */
function collect<T>(observable: { subscribe(observer: { next(v: T): void; error(e: unknown): void; complete(): void }): unknown }): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const values: T[] = [];
    observable.subscribe({ next: (v) => values.push(v), error: reject, complete: () => resolve(values) });
  });
}

describe('real GraphQL clients subscribing through the gateway', () => {
  let ticks: TicksPlatform;
  let gateway: AdHocGateway;

  beforeAll(async () => {
    ticks = await startTicksPlatform({ MULTIPART_HEARTBEAT_MS: '30' });
    gateway = ticks.gateway;
  });
  afterAll(() => ticks?.close());

  it('Apollo Client over HttpLink (multipart subscriptions, no extra setup)', async () => {
    const client = new ApolloClient({ link: new HttpLink({ uri: gateway.url }), cache: new InMemoryCache() });
    const results = await collect<{ data?: unknown }>(client.subscribe({ query: gql(TICKS) }));
    expect(results.map((r) => r.data)).toEqual(expected);
    client.stop();
  });

  it('Apollo Client over GraphQLWsLink', async () => {
    const wsClient = createWsClient({ url: gateway.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    const client = new ApolloClient({ link: new GraphQLWsLink(wsClient), cache: new InMemoryCache() });
    const results = await collect<{ data?: unknown }>(client.subscribe({ query: gql(TICKS) }));
    expect(results.map((r) => r.data)).toEqual(expected);
    client.stop();
    await wsClient.dispose();
  });

  it('urql with fetchSubscriptions (HTTP streaming)', async () => {
    const client = createUrqlClient({ url: gateway.url, exchanges: [fetchExchange], fetchSubscriptions: true, requestPolicy: 'network-only' });
    const results = await pipe(
      client.subscription(TICKS, {}),
      scan((all: unknown[], result) => [...all, result.data], []),
      take(3),
      toPromise,
    );
    expect(withoutTypenames(results)).toEqual(withoutTypenames(expected));
  });

  it('speaks Apollo multipart: payload-wrapped parts, {} heartbeats and a closing boundary', async () => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'multipart/mixed;subscriptionSpec="1.0",application/json' },
      body: JSON.stringify({ query: 'subscription { ticks(count: 2, intervalMs: 100) { n } }' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('multipart/mixed;boundary="graphql";subscriptionSpec="1.0"');
    const body = await response.text();
    // Apollo Router's framing: every part is followed by its boundary as it is written.
    const parts = body.split('\r\n--graphql').slice(1);
    expect(body.startsWith('\r\n--graphql\r\ncontent-type: application/json\r\n\r\n{}\r\n--graphql')).toBe(true);
    expect(parts.at(-1)).toBe('--\r\n');
    for (const part of parts.slice(0, -1)) expect(part).toMatch(/^\r\ncontent-type: application\/json\r\n\r\n\{.*\}$/s);
    const jsons = parts.slice(0, -1).map((part) => JSON.parse(part.split('\r\n\r\n')[1]!));
    expect(jsons.filter((j) => 'payload' in j)).toEqual([{ payload: { data: { ticks: { n: 1 } } } }, { payload: { data: { ticks: { n: 2 } } } }]);
    expect(jsons.filter((j) => Object.keys(j).length === 0).length).toBeGreaterThanOrEqual(2);
  });
});
