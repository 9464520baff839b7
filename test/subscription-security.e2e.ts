import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient } from 'graphql-ws';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { usageLiveChannel } from '../lib/live/keys.js';
import { prefixedChannel } from '../lib/live/pubsub.js';
import { AD_HOC_API_KEY_DOCUMENTS } from './env.js';
import { startTestPlatform, type TestPlatform } from './kit.js';

type Result = { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
const USAGE_LIVE = 'subscription { usageLive { requests user { email } } }';
const PLATFORM_METRICS = 'subscription { platformMetrics(intervalSeconds: 5) { requestsPerSecond } }';

/** The codes of every error a subscription ends with, whether the client delivers them as events or as its error. */
const codesOf = (outcome: unknown): unknown[] => {
  const errors = (value: any): any[] => value?.errors ?? value?.error?.errors ?? (Array.isArray(value) ? value : []);
  const list = Array.isArray(outcome) ? outcome.flatMap((item) => errors(item)) : errors(outcome);
  return list.map((error) => error?.extensions?.code);
};

/** Subscriptions on the real platform: what applies to queries applies to them, and they end with their credentials. */
describe('subscriptions and credentials through the gateway', () => {
  let platform: TestPlatform;
  let session: { accessToken: string; refreshToken: string };
  const clients: Array<{ dispose(): unknown }> = [];

  const register = async (email: string) => {
    const { body } = await platform.query<{ register: { accessToken: string; refreshToken: string } }>(
      `mutation($email: String!) { register(input: { email: $email, password: "correct horse battery", displayName: "Sub" }) { accessToken refreshToken } }`,
      { email },
    );
    return body.data!.register;
  };
  const socket = (connectionParams: Record<string, string>, lazy = true) => {
    const client = createClient({ url: platform.gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy });
    clients.push(client);
    return client;
  };
  /** Whether the usage subgraph listens on the user's live channel in Redis (each test streams a user of its own). */
  const listening = async (accessToken: string) => {
    const channel = prefixedChannel(platform.redis, usageLiveChannel(decodeJwt(accessToken).sub!));
    const [, count] = (await platform.redis.pubsub('NUMSUB', channel)) as [string, number];
    return Number(count) > 0;
  };
  /**
   * Waits until the subscription is live upstream (the usage subgraph subscribed to the user's
   * channel: a readiness signal, not a pause), then makes the first event with a query by the
   * same caller. `accessToken` names the user whose usage streams.
   */
  const started = async (iterator: AsyncIterableIterator<Result>, headers: Record<string, string>, accessToken: string) => {
    const first = iterator.next();
    const deadline = Date.now() + 60_000;
    while (!(await listening(accessToken))) {
      if (Date.now() > deadline) throw new Error('the usage subgraph never subscribed to the live channel');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await platform.query('query Ping { models { id } }', undefined, headers);
    return first;
  };

  beforeAll(async () => {
    platform = await startTestPlatform({ gatewayEnv: AD_HOC_API_KEY_DOCUMENTS });
    session = await register('sub@example.com');
  });
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await platform?.stop();
  });

  it('streams the caller’s own usage with the user entity resolved from the users subgraph', async () => {
    const bearer = { authorization: `Bearer ${session.accessToken}` };
    const iterator = socket(bearer).iterate({ query: USAGE_LIVE }) as AsyncIterableIterator<Result>;
    const first = await started(iterator, bearer, session.accessToken);
    expect(first.value).toEqual({ data: { usageLive: { requests: 1, user: { email: 'sub@example.com' } } } });
    await iterator.return!();
  });

  it('applies the auth directives to subscriptions: anonymous usageLive is refused with UNAUTHENTICATED', async () => {
    const results: Result[] = [];
    for await (const result of socket({}).iterate({ query: USAGE_LIVE }) as AsyncIterableIterator<Result>) results.push(result);
    expect(results).toHaveLength(1);
    expect(results[0]!.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  /** Subscribes with one real client per transport and collects every event until the stream ends (or its error). */
  const transports: Record<string, (query: string, headers: Record<string, string>) => Promise<unknown>> = {
    'graphql-ws': async (query, headers) => {
      const results: Result[] = [];
      for await (const result of socket(headers).iterate({ query }) as AsyncIterableIterator<Result>) results.push(result);
      return results;
    },
    'SSE (graphql-sse)': async (query, headers) => {
      const client = createSseClient({ url: platform.gatewayUrl, singleConnection: false, retryAttempts: 0, headers });
      clients.push(client);
      const results: Result[] = [];
      try {
        for await (const result of client.iterate({ query }) as AsyncIterableIterator<Result>) results.push(result);
      } catch (error) {
        return error;
      }
      return results;
    },
    'multipart (Apollo Client HttpLink)': (query, headers) => {
      const client = new ApolloClient({ link: new HttpLink({ uri: platform.gatewayUrl, headers }), cache: new InMemoryCache() });
      return new Promise((resolve) => {
        const results: unknown[] = [];
        client.subscribe({ query: gql(query) }).subscribe({
          next: (result) => results.push(result),
          error: (error: unknown) => resolve([...results, error]),
          complete: () => resolve(results),
        });
      });
    },
  };
  for (const [transport, subscribe] of Object.entries(transports)) {
    it(`refuses subscriptions alike over ${transport}: anonymous usageLive is UNAUTHENTICATED, platformMetrics without metrics:read is FORBIDDEN`, async () => {
      expect(codesOf(await subscribe(USAGE_LIVE, {}))).toEqual(['UNAUTHENTICATED']);
      const bearer = { authorization: `Bearer ${session.accessToken}` };
      expect(codesOf(await subscribe(PLATFORM_METRICS, bearer))).toEqual(['FORBIDDEN']);
    });
  }

  it('counts subscriptions in the gateway metrics', async () => {
    const own = await register('metrics@example.com');
    const bearer = { authorization: `Bearer ${own.accessToken}` };
    const iterator = socket(bearer).iterate({ query: USAGE_LIVE }) as AsyncIterableIterator<Result>;
    await started(iterator, bearer, own.accessToken);
    const gatewayMetrics = async () => (await fetch(platform.metricsUrls.gateway)).text();
    const open = await gatewayMetrics();
    expect(open).toMatch(/lotabots_gateway_open_subscriptions\{service="gateway"\} [1-9]/);
    expect(open).toMatch(/lotabots_gateway_subscriptions_started_total\{service="gateway"\} [1-9]/);
    const cancelledBefore = cancelledCount(open);
    await iterator.return!();
    // The gateway records the cancellation once the client's `complete` reaches it: poll, with a generous bound.
    const deadline = Date.now() + 60_000;
    while (cancelledCount(await gatewayMetrics()) === cancelledBefore && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(cancelledCount(await gatewayMetrics())).toBe(cancelledBefore + 1);
  });

  it('ends an open subscription when its session logs out, and refuses new operations on the same socket', async () => {
    const own = await register('logout@example.com');
    const bearer = { authorization: `Bearer ${own.accessToken}` };
    // Not lazy: the socket stays open after its last subscription ends, as a real app's would.
    const client = socket(bearer, false);
    const iterator = client.iterate({ query: USAGE_LIVE }) as AsyncIterableIterator<Result>;
    await started(iterator, bearer, own.accessToken);
    await platform.query('mutation($t: String!) { logout(refreshToken: $t) }', { t: own.refreshToken });
    const rest: Result[] = [];
    for await (const result of iterator) rest.push(result);
    expect(rest.at(-1)!.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    const refusal = await (async () => {
      for await (const _ of client.iterate({ query: '{ me { id } }' })) return 'answered';
      return 'completed';
    })().catch((error: unknown) => error);
    expect(refusal).toMatchObject([{ message: 'Invalid or expired credentials', extensions: { code: 'UNAUTHENTICATED' } }]);
  });

  it('ends an open subscription when its API key is revoked', async () => {
    const own = await register('keys@example.com');
    const { body } = await platform.query<{ createApiKey: { key: string; apiKey: { id: string } } }>(
      'mutation { createApiKey(input: { name: "stream", scopes: ["usage:read"] }) { key apiKey { id } } }',
      undefined,
      { authorization: `Bearer ${own.accessToken}` },
    );
    const { key, apiKey } = body.data!.createApiKey;
    const iterator = socket({ 'x-api-key': key }).iterate({ query: USAGE_LIVE }) as AsyncIterableIterator<Result>;
    await started(iterator, { 'x-api-key': key }, own.accessToken);
    await platform.query('mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }', { id: apiKey.id }, { authorization: `Bearer ${own.accessToken}` });
    const rest: Result[] = [];
    for await (const result of iterator) rest.push(result);
    expect(rest.at(-1)!.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
  });
});

/** Subscriptions the gateway saw end by client cancellation, from its `/metrics` text. */
function cancelledCount(metrics: string): number {
  const match = /^lotabots_gateway_subscription_duration_seconds_count\{[^}]*reason="cancelled"[^}]*\} (\d+)$/m.exec(metrics);
  return match ? Number(match[1]) : 0;
}
