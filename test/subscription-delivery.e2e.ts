import { randomUUID } from 'node:crypto';

import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { type Client as WsClient, createClient as createWsClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { usageLiveChannel } from '../lib/live/keys.js';
import { testEnv } from './env.js';
import { startTestPlatform, type TestPlatform } from './kit.js';
import { within } from './within.js';

// When events reach clients through the gateway: every multipart part at once (not a
// heartbeat later), plain `multipart/mixed` served, and a subscriber that joins a shared
// upstream treated as if it had its own.

type Result = { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

/** A minute between figures: any event sooner than that was not a tick. */
const DASHBOARD = 'subscription Dashboard { platformMetrics(intervalSeconds: 60) { at requestsPerSecond queueDepth } }';
const USAGE_LIVE = 'subscription Live { usageLive { operationName } }';
/** Far below the interval, far above anything a loaded machine needs to deliver an event. */
const PROMPTLY_MS = 30_000;
const TEST_TIMEOUT_MS = 90_000;

async function nextEvent(stream: AsyncIterableIterator<Result>, what: string): Promise<Result> {
  const { done, value } = await within(stream.next(), PROMPTLY_MS, what);
  if (done) throw new Error(`${what}: the stream ended`);
  return value;
}

/** The complete parts of an incremental delivery body (boundary `-`), read as they arrive. */
async function firstIncrementalParts(response: Response, count: number): Promise<Array<{ headers: Record<string, string>; body: string }>> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  try {
    for (;;) {
      // Preamble, then `\r\n---` before and after each part: count + 1 delimiters close `count` parts.
      const pieces = text.split('\r\n---');
      if (pieces.length >= count + 2) {
        return pieces.slice(1, count + 1).map((piece) => {
          const [head = '', body = ''] = piece.replace(/^\r\n/, '').split('\r\n\r\n');
          const headers = Object.fromEntries(head.split('\r\n').map((line) => line.split(/:\s*/, 2).map((s, i) => (i === 0 ? s.toLowerCase() : s))));
          return { headers, body };
        });
      }
      const { done, value } = await reader.read();
      if (done) throw new Error(`the body ended after ${pieces.length - 2} parts`);
      text += value;
    }
  } finally {
    await reader.cancel();
  }
}

describe('subscription delivery through the gateway', () => {
  let platform: TestPlatform;
  let raw: Redis;
  let adminToken: string;
  const clients: WsClient[] = [];

  beforeAll(async () => {
    // Heartbeats never come during the test: an event reaches the client on its own or not at all.
    platform = await startTestPlatform({ gatewayEnv: { MULTIPART_HEARTBEAT_MS: '600000' } });
    raw = new Redis(testEnv.redisUrl);
    adminToken = await platform.tokenFor(randomUUID(), { roles: ['admin'] });
  });
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    raw?.disconnect();
    await platform?.stop();
  });

  const wsClient = (token: string) => {
    const client = createWsClient({
      url: platform.gatewayUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    clients.push(client);
    return client;
  };

  /** The dashboard subscription over plain HTTP, with `accept`; abort `controller` to end it. */
  const dashboardOverHttp = async (accept: string) => {
    const controller = new AbortController();
    const response = await fetch(platform.gatewayUrl, {
      method: 'POST',
      signal: controller.signal,
      headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ query: DASHBOARD }),
    });
    return { response, controller };
  };

  it('regression: Apollo Client over HttpLink gets each multipart event when it happens, not a heartbeat later', async () => {
    const client = new ApolloClient({
      link: new HttpLink({ uri: platform.gatewayUrl, headers: { authorization: `Bearer ${adminToken}` } }),
      cache: new InMemoryCache(),
    });
    try {
      const first = new Promise<Result>((resolve, reject) => {
        client.subscribe({ query: gql(DASHBOARD) }).subscribe({ next: (result) => resolve(result as Result), error: reject });
      });
      // The subgraph emits the figures at once; the next part is a minute away.
      const result = await within(first, PROMPTLY_MS, 'the first platformMetrics event');
      expect(result.errors).toBeUndefined();
      expect(result.data?.platformMetrics).toMatchObject({ at: expect.any(String), queueDepth: expect.any(Number) });
    } finally {
      client.stop();
    }
  }, TEST_TIMEOUT_MS);

  it('regression: a subscription with plain Accept: multipart/mixed is served in the incremental delivery format, not refused with 406', async () => {
    const { response, controller } = await dashboardOverHttp('multipart/mixed');
    try {
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('multipart/mixed; boundary="-"');
      const [part] = await within(firstIncrementalParts(response, 1), PROMPTLY_MS, 'the first part');
      expect(part!.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(Number(part!.headers['content-length'])).toBe(Buffer.byteLength(part!.body));
      const result = JSON.parse(part!.body) as Result;
      expect(result.errors).toBeUndefined();
      expect(result.data?.platformMetrics).toMatchObject({ at: expect.any(String) });
    } finally {
      controller.abort();
    }
  }, TEST_TIMEOUT_MS);

  it('regression: a subscription refused before it starts answers plain Accept: multipart/mixed with one part carrying the code, not a 406', async () => {
    const response = await fetch(platform.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'multipart/mixed' },
      body: JSON.stringify({ query: DASHBOARD }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('multipart/mixed; boundary="-"');
    const [part] = await within(firstIncrementalParts(response, 1), PROMPTLY_MS, 'the refusal');
    const result = JSON.parse(part!.body) as Result;
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  }, TEST_TIMEOUT_MS);

  it('keeps SSE for clients that prefer it (urql asks for text/event-stream, multipart/mixed)', async () => {
    const { response, controller } = await dashboardOverHttp('text/event-stream, multipart/mixed');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    controller.abort();
  });

  it('regression: a platformMetrics subscriber joining a shared upstream gets the latest figures at once, not at the next tick', async () => {
    const client = wsClient(adminToken);
    const first = client.iterate({ query: DASHBOARD }) as AsyncIterableIterator<Result>;
    const firstEvent = await nextEvent(first, 'the first subscriber’s first event');
    expect(firstEvent.errors).toBeUndefined();

    // Identical, same caller: it shares the first one's upstream, which ticks again in a minute.
    const joiner = client.iterate({ query: DASHBOARD }) as AsyncIterableIterator<Result>;
    const joinerEvent = await nextEvent(joiner, 'the joiner’s first event');
    expect(joinerEvent).toEqual(firstEvent);
    await joiner.return!();
    await first.return!();
  }, TEST_TIMEOUT_MS);

  it('replays nothing to a usageLive subscriber joining a shared upstream: an old operation is not repeated', async () => {
    const userId = randomUUID();
    const token = await platform.tokenFor(userId);
    const operate = async (operationName: string) => {
      const { body } = await platform.query(`query ${operationName} { plans { id } }`, undefined, { authorization: `Bearer ${token}` });
      expect(body.errors).toBeUndefined();
    };
    const channel = `${platform.redis.options.keyPrefix}${usageLiveChannel(userId)}`;
    const client = wsClient(token);
    const first = client.iterate({ query: USAGE_LIVE }) as AsyncIterableIterator<Result>;
    const firstEvent = nextEvent(first, 'the first usageLive event');
    // The usage subgraph listens once the upstream is open; operations before that go unseen.
    for (;;) {
      const [, listeners] = (await raw.pubsub('NUMSUB', channel)) as [string, number];
      if (Number(listeners) > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await operate('Before');
    // Subscriptions are metered too: skip any of those until the operation arrives.
    for (let seen = await firstEvent; seen.data?.usageLive.operationName !== 'Before'; ) seen = await nextEvent(first, 'Before');

    // The joiner's subscribe reaches the gateway at some point after this; operations from
    // now on are new to it, and the first one it sees must be one of them.
    const joiner = client.iterate({ query: USAGE_LIVE }) as AsyncIterableIterator<Result>;
    const joinerEvent = joiner.next();
    let arrived: IteratorResult<Result> | undefined;
    void joinerEvent.then((result) => (arrived = result));
    for (let n = 0; !arrived; n++) {
      await operate(`After${n}`);
      await Promise.race([joinerEvent, new Promise((resolve) => setTimeout(resolve, 200))]);
    }
    expect(arrived.done).toBe(false);
    expect(arrived.value?.data?.usageLive.operationName).not.toBe('Before');
    await joiner.return!();
    await first.return!();
  }, TEST_TIMEOUT_MS);
});
