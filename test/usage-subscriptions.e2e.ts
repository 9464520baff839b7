import { randomBytes, randomUUID } from 'node:crypto';

import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { createAccessTokenIssuer } from '../lib/auth/access-token.js';
import { createIdentitySigner, IDENTITY_HEADER } from '../lib/auth/identity-header.js';
import { anonymousPrincipal, type Principal, scopesOfRoles } from '../lib/auth/principal.js';
import { TOKENS_OUT_COUNTER, usageLiveChannel } from '../lib/live/keys.js';
import { testEnv } from './env.js';
import { jobRequest } from './inference-kit.js';
import { startTestPlatform, type TestPlatform } from './kit.js';
import { within } from './within.js';

// The usage subgraph's subscriptions, opened directly at the subgraph the way the gateway
// opens them upstream (signed identity; SSE or graphql-ws), with events made by real
// traffic through the gateway.

type Result = { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
type Stream = AsyncIterableIterator<Result>;

const USAGE_LIVE = 'subscription Live { usageLive { user { id } at operationName requests tokensIn tokensOut periodTotals { periodStart periodEnd requests } } }';
const PLATFORM_METRICS = /* GraphQL */ `
  subscription Dashboard($intervalSeconds: Int!) {
    platformMetrics(intervalSeconds: $intervalSeconds) {
      at requestsPerSecond errorRate p95LatencyMs openSubscriptions queueDepth tokensPerSecond
    }
  }
`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The result of a `next()` call, failing when the stream ended instead. */
async function resultOf(step: Promise<IteratorResult<Result>>, ms = 30_000): Promise<Result> {
  const { done, value } = await within(step, ms, 'no event');
  if (done) throw new Error('the stream ended');
  return value;
}

const nextWithin = (stream: Stream, ms = 30_000) => resultOf(stream.next(), ms);

async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await sleep(25);
  }
}

describe('usage subscriptions at the usage subgraph', () => {
  let platform: TestPlatform;
  let raw: Redis;
  const disposers: Array<() => unknown> = [];
  const alice = randomUUID();
  const bob = randomUUID();

  beforeAll(async () => {
    // No worker: the queued jobs of the dashboard test must stay waiting.
    platform = await startTestPlatform({ startWorker: false });
    raw = new Redis(testEnv.redisUrl);
  });
  afterAll(async () => {
    for (const dispose of disposers) await dispose();
    raw?.disconnect();
    await platform?.stop();
  });

  const principal = (userId: string | null, roles: string[] = ['user']): Principal =>
    userId ? { ...anonymousPrincipal(null), kind: 'user', userId, subject: `user:${userId}`, roles, scopes: scopesOfRoles(roles) } : anonymousPrincipal(null);
  const identityOf = (who: Principal) => createIdentitySigner(platform.secrets.identitySecret).sign(who);

  /** Through the usage subgraph's SSE (graphql-sse, distinct connections), as `who`. */
  const overSse = async (who: Principal, query: string, variables?: Record<string, unknown>): Promise<Stream> => {
    const identity = await identityOf(who);
    const client = createSseClient({ url: platform.subgraphUrls.usage, singleConnection: false, retryAttempts: 0, headers: { [IDENTITY_HEADER]: identity } });
    disposers.push(() => client.dispose());
    return client.iterate({ query, variables }) as Stream;
  };
  /** Through the usage subgraph's graphql-ws, the identity in connection_init's payload. */
  const overWs = async (connectionParams: Record<string, string>, query: string, variables?: Record<string, unknown>): Promise<Stream> => {
    const client = createWsClient({ url: platform.subgraphUrls.usage.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams, lazy: true, retryAttempts: 0 });
    disposers.push(() => client.dispose());
    return client.iterate({ query, variables }) as Stream;
  };
  const wsAs = async (who: Principal, query: string, variables?: Record<string, unknown>) =>
    overWs({ [IDENTITY_HEADER]: await identityOf(who) }, query, variables);

  const tokenFor = async (userId: string) =>
    (
      await createAccessTokenIssuer(platform.secrets.signingKeys, 900, () => new Date()).issue({
        userId,
        roles: ['user'],
        scopes: scopesOfRoles(['user']),
        plan: 'free',
        sessionId: randomUUID(),
      })
    ).token;
  /** A named query through the gateway as `userId`; the gateway meters it. */
  const operateAs = async (userId: string, operationName: string) => {
    const { body } = await platform.query(`query ${operationName} { plans { id } }`, undefined, { authorization: `Bearer ${await tokenFor(userId)}` });
    expect(body.errors).toBeUndefined();
  };
  const subscribersOf = async (userId: string) => {
    const channel = `${platform.redis.options.keyPrefix}${usageLiveChannel(userId)}`;
    const [, count] = (await raw.pubsub('NUMSUB', channel)) as [string, number];
    return Number(count);
  };

  it("streams each user's own operations, in order, over SSE and graphql-ws, and releases Redis when they end", async () => {
    const aliceSse = await overSse(principal(alice), USAGE_LIVE);
    const aliceWs = await wsAs(principal(alice), USAGE_LIVE);
    const bobWs = await wsAs(principal(bob), USAGE_LIVE);
    // Start all three (the clients connect on the first next()), then wait until the
    // subgraph listens: one Redis subscription per user, however many subscribers.
    const pending = [aliceSse.next(), aliceWs.next(), bobWs.next()];
    expect(await eventually(() => subscribersOf(alice), (n) => n === 1)).toBe(1);
    expect(await eventually(() => subscribersOf(bob), (n) => n === 1)).toBe(1);

    for (const name of ['AliceFirst', 'AliceSecond', 'AliceThird']) await operateAs(alice, name);
    await operateAs(bob, 'BobOnly');
    await operateAs(alice, 'AliceLast');

    const collect = async (stream: Stream, index: number, count: number) => {
      const results = [await resultOf(pending[index]!)];
      while (results.length < count) results.push(await nextWithin(stream));
      return results;
    };
    for (const [stream, index] of [[aliceSse, 0], [aliceWs, 1]] as const) {
      const results = await collect(stream, index, 4);
      // Bob's operation happened between Alice's third and last; she never sees it.
      expect(results.map((r) => r.data?.usageLive.operationName)).toEqual(['AliceFirst', 'AliceSecond', 'AliceThird', 'AliceLast']);
      for (const { data, errors } of results) {
        expect(errors).toBeUndefined();
        expect(data.usageLive).toEqual({
          user: { id: alice },
          at: expect.any(String),
          operationName: expect.any(String),
          requests: 1,
          tokensIn: 0,
          tokensOut: 0,
          periodTotals: { periodStart: expect.any(String), periodEnd: expect.any(String), requests: expect.any(Number) },
        });
        expect(Date.now() - new Date(data.usageLive.at).getTime()).toBeLessThan(30_000);
      }
      // Published after aggregation: each update carries the month's totals so far, this operation included.
      const totals = results.map((r) => r.data.usageLive.periodTotals.requests as number);
      expect(totals[0]).toBeGreaterThanOrEqual(1);
      for (let i = 1; i < totals.length; i++) expect(totals[i]).toBeGreaterThan(totals[i - 1]!);
    }
    const bobs = await collect(bobWs, 2, 1);
    expect(bobs.map((r) => r.data?.usageLive)).toEqual([
      { user: { id: bob }, at: expect.any(String), operationName: 'BobOnly', requests: 1, tokensIn: 0, tokensOut: 0, periodTotals: expect.objectContaining({ requests: 1 }) },
    ]);

    // Each transport's cancellation releases its listener; the channel's Redis subscription
    // goes with the last one.
    await aliceWs.return!();
    await bobWs.return!();
    expect(await eventually(() => subscribersOf(bob), (n) => n === 0)).toBe(0);
    expect(await subscribersOf(alice)).toBe(1); // the SSE subscriber still listens
    await aliceSse.return!();
    expect(await eventually(() => subscribersOf(alice), (n) => n === 0)).toBe(0);
  });

  it('refuses usageLive to a caller without a user with UNAUTHENTICATED', async () => {
    for (const stream of [await overSse(principal(null), USAGE_LIVE), await wsAs(principal(null), USAGE_LIVE)]) {
      const result = await nextWithin(stream);
      expect(result.data ?? null).toBeNull();
      expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it('closes a WebSocket connection without a valid gateway identity with 4403', async () => {
    const forged = await createIdentitySigner(randomBytes(32)).sign(principal(alice));
    const attempts: Array<Record<string, string>> = [{}, { [IDENTITY_HEADER]: 'not-a-jws' }, { [IDENTITY_HEADER]: forged }, { authorization: `Bearer ${await tokenFor(alice)}` }];
    for (const params of attempts) {
      const stream = await overWs(params, USAGE_LIVE);
      await expect(nextWithin(stream)).rejects.toMatchObject({ code: 4403 });
    }
  });

  it('emits platformMetrics at once and then every interval, with figures that follow gateway traffic, queue and tokens', async () => {
    const admin = principal(randomUUID(), ['admin']);
    const metrics = await wsAs(admin, PLATFORM_METRICS, { intervalSeconds: 1 });
    const first = (await nextWithin(metrics)).data!.platformMetrics;
    const firstAt = Date.now();
    expect(first).toMatchObject({ queueDepth: 0, tokensPerSecond: 0, openSubscriptions: 0 });

    // Traffic through the gateway (some of it failing validation), three queued jobs, and
    // 300 tokens generated.
    for (let i = 0; i < 20; i++) await platform.query('{ plans { id } }');
    for (let i = 0; i < 5; i++) await platform.query('{ plans { nope } }');
    for (let i = 0; i < 3; i++) await platform.inferenceBus.queue.enqueue(jobRequest());
    await platform.redis.incrby(TOKENS_OUT_COUNTER, 300);

    // Samples taken while that traffic was still being sent may not show all of it yet, so read
    // on (bounded) until one shows everything; on a loaded machine that can take a few intervals.
    const later: Array<Record<string, number | string>> = [];
    const arrivals: number[] = [];
    const showsAllTraffic = (figures: Record<string, number | string>) => figures.queueDepth === 3 && Number(figures.errorRate) > 0;
    while (later.length < 3 || (!showsAllTraffic(later[later.length - 1]!) && later.length < 30)) {
      later.push((await nextWithin(metrics)).data!.platformMetrics);
      arrivals.push(Date.now());
    }
    // One a second, not faster (a little jitter allowed).
    expect(arrivals[2]! - firstAt).toBeGreaterThanOrEqual(2_700);
    const last = later[later.length - 1]!;
    expect(last.requestsPerSecond).toBeGreaterThan(first.requestsPerSecond);
    expect(last.errorRate).toBeGreaterThan(0);
    expect(last.errorRate).toBeLessThan(1);
    expect(last.p95LatencyMs).toBeGreaterThan(0);
    expect(last.queueDepth).toBe(3);
    expect(later.some((figures) => Number(figures.tokensPerSecond) > 0)).toBe(true);
    expect(new Date(String(last.at)).getTime()).toBeGreaterThan(new Date(first.at).getTime());
    await metrics.return!();
  });

  it('refuses platformMetrics without metrics:read, and intervals outside 1..60 with BAD_USER_INPUT', async () => {
    const admin = principal(randomUUID(), ['admin']);
    const cases: Array<[Principal, number, string]> = [
      [principal(alice), 5, 'FORBIDDEN'],
      [principal(null), 5, 'UNAUTHENTICATED'],
      [admin, 0, 'BAD_USER_INPUT'],
      [admin, 61, 'BAD_USER_INPUT'],
    ];
    for (const [who, intervalSeconds, code] of cases) {
      for (const stream of [await overSse(who, PLATFORM_METRICS, { intervalSeconds }), await wsAs(who, PLATFORM_METRICS, { intervalSeconds })]) {
        const result = await nextWithin(stream);
        expect(result.errors?.[0]?.extensions?.code, `${who.kind} ${intervalSeconds}`).toBe(code);
      }
    }
  });
});
