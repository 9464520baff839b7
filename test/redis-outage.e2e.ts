import { once } from 'node:events';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { systemClock } from '../lib/clock.js';
import { createWorkerRegistry } from '../worker/registry.js';
import { AD_HOC_API_KEY_DOCUMENTS } from './env.js';
import { type GraphQLResponse, startTestPlatform, type TestPlatform, withCost } from './kit.js';
import { freePort, OwnRedis, waitUntil } from './own-redis.js';
import { CHANGE_PASSWORD, CREATE_KEY, LOGIN, LOGOUT, LOOSE_BRUTE_FORCE_LIMITS, REFRESH, REGISTER, REQUEST_RESET, RESET, REVOKE_KEY } from './users-operations.js';

/**
 * Redis is a cache of revocations and a dependency the gateway needs to check credentials:
 * losing its data must not bring revoked sessions or API keys back, and while it is down
 * signed-in callers get a retryable answer (503 + SERVICE_UNAVAILABLE + Retry-After,
 * WebSocket 1013) and the platform recovers by itself once it is back. The Redis here is
 * this file's own server, which the tests SIGKILL and restart empty.
 */

const ME = '{ me { id } }';
const PASSWORD = 'correct horse battery';
/** Restarts, rebuilds and a dozen password hashes take a while on a loaded machine. */
const SLOW_TEST_MS = 120_000;

interface Session {
  user: { id: string };
  accessToken: string;
  refreshToken: string;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const codeOf = (response: GraphQLResponse) => response.body.errors?.[0]?.extensions?.code;

describe('Redis restarts and outages', () => {
  let redis: OwnRedis;
  let platform: TestPlatform;
  let counter = 0;

  beforeAll(async () => {
    redis = new OwnRedis(await freePort());
    await redis.start();
    platform = await startTestPlatform({ redisUrl: redis.url, users: LOOSE_BRUTE_FORCE_LIMITS, gatewayEnv: AD_HOC_API_KEY_DOCUMENTS });
  });

  afterAll(async () => {
    // The platform cleans its keys up on stop, so Redis must be running then.
    redis?.freeze(false);
    if (redis && !redis.running) await redis.start();
    await platform?.stop();
    await redis?.kill();
  });

  const sessionOf = (response: GraphQLResponse): Session => {
    expect(response.body.errors).toBeUndefined();
    return Object.values(response.body.data!)[0] as Session;
  };
  const register = async () => {
    const email = `redis-${++counter}@example.com`;
    const session = sessionOf(await platform.query(REGISTER, { input: { email, password: PASSWORD, displayName: 'Ada' } }));
    return { email, session };
  };
  const me = (headers: Record<string, string>) => platform.query(ME, undefined, headers);
  const expectRefused = async (headers: Record<string, string>) => {
    const response = await me(headers);
    expect(response.status).toBe(401);
    expect(codeOf(response)).toBe('UNAUTHENTICATED');
  };
  const expectAccepted = async (headers: Record<string, string>, userId: string) => {
    const response = await me(headers);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(withCost({ data: { me: { id: userId } } }));
  };
  /** Whether the users subgraph has (re)built the gateway's revocation copy since Redis lost it. */
  const copyComplete = async () => (await platform.redis.zscore('auth:revoked-sessions', 'complete').catch(() => null)) !== null;

  const openSocket = async () => {
    const socket = new WebSocket(platform.gatewayUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await once(socket, 'open');
    return socket;
  };
  const nextMessage = async (socket: WebSocket) => JSON.parse(String((await once(socket, 'message'))[0])) as unknown;
  const servedAgain = (live: Record<string, string>) =>
    waitUntil(async () => (await me(live)).body.data?.me != null, 'the gateway to serve signed-in requests again');

  /** SIGKILL, restart empty, and wait until signed-in requests are served again. */
  async function restartRedis(live: Record<string, string>): Promise<void> {
    await redis.kill();
    await redis.start();
    await servedAgain(live);
  }
  /** POSTs `{ me { id } }` and returns the raw response, headers included. */
  const postMe = (credential: Record<string, string>) =>
    fetch(platform.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...credential },
      body: JSON.stringify({ query: ME }),
      // Only so that a hanging request fails this test instead of the whole run.
      signal: AbortSignal.timeout(25_000),
    });
  const expectRetryLater = async (response: Response) => {
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    const body = (await response.json()) as GraphQLResponse['body'];
    expect(body.data ?? null).toBeNull();
    expect(body.errors).toEqual([{ message: 'Cannot check credentials right now; retry shortly', extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 5, requestId: expect.any(String) } }]);
  };

  it('regression: a Redis restart does not bring back sessions ended by logout, password change, password reset or refresh-token reuse', async () => {
    const live = await register();
    const liveHeaders = bearer(live.session.accessToken);

    const loggedOut = await register();
    expect((await platform.query(LOGOUT, { token: loggedOut.session.refreshToken })).body).toEqual(withCost({ data: { logout: true } }));

    const changed = await register();
    const change = await platform.query(CHANGE_PASSWORD, { input: { currentPassword: PASSWORD, newPassword: 'another long password' } }, bearer(changed.session.accessToken));
    const afterChange = sessionOf(change);

    const reset = await register();
    expect((await platform.query(REQUEST_RESET, { email: reset.email })).body).toEqual(withCost({ data: { requestPasswordReset: true } }));
    const [mail] = await platform.db.query<{ body: string }>(`SELECT body FROM users."OutboxMessage" WHERE recipient = $1`, [reset.email]);
    const resetToken = /reset-password\?token=([A-Za-z0-9_-]{43})/.exec(mail!.body)![1]!;
    expect((await platform.query(RESET, { input: { token: resetToken, newPassword: 'a brand new password' } })).body).toEqual(withCost({ data: { resetPassword: true } }));

    const reused = await register();
    const rotated = sessionOf(await platform.query(REFRESH, { token: reused.session.refreshToken }));
    expect(codeOf(await platform.query(REFRESH, { token: reused.session.refreshToken }))).toBe('UNAUTHENTICATED');

    const revoked = [loggedOut.session.accessToken, changed.session.accessToken, reset.session.accessToken, reused.session.accessToken, rotated.accessToken];
    for (const token of revoked) await expectRefused(bearer(token));

    await restartRedis(liveHeaders);
    // Whether the gateway asked PostgreSQL (copy not rebuilt yet) or the rebuilt copy answered.
    for (const token of revoked) await expectRefused(bearer(token));
    await waitUntil(copyComplete, 'the revocation copy to be rebuilt from PostgreSQL');
    for (const token of revoked) await expectRefused(bearer(token));

    // Losing the copy any other way (eviction, FLUSHALL) is the same: never read as "nothing revoked".
    await platform.redis.del('auth:revoked-sessions');
    for (const token of revoked) await expectRefused(bearer(token));

    await expectAccepted(liveHeaders, live.session.user.id);
    await expectAccepted(bearer(afterChange.accessToken), changed.session.user.id);
  }, SLOW_TEST_MS);

  // Passed before too (a cache miss asks the users subgraph, which reads PostgreSQL); kept so it stays so.
  it('a revoked API key stays revoked after a Redis restart', async () => {
    const owner = await register();
    const ownerHeaders = bearer(owner.session.accessToken);
    const create = async (name: string) => {
      const created = await platform.query(CREATE_KEY, { input: { name } }, ownerHeaders);
      expect(created.body.errors).toBeUndefined();
      return created.body.data!.createApiKey as { key: string; apiKey: { id: string } };
    };
    const kept = await create('kept');
    const revoked = await create('revoked');
    await expectAccepted({ 'x-api-key': revoked.key }, owner.session.user.id); // now cached in Redis
    expect((await platform.query(REVOKE_KEY, { id: revoked.apiKey.id }, ownerHeaders)).body.errors).toBeUndefined();
    await expectRefused({ 'x-api-key': revoked.key });

    await restartRedis(ownerHeaders);
    await expectRefused({ 'x-api-key': revoked.key });
    await waitUntil(copyComplete, 'the revocation copy to be rebuilt from PostgreSQL');
    await expectRefused({ 'x-api-key': revoked.key });
    await expectAccepted({ 'x-api-key': kept.key }, owner.session.user.id);
  }, SLOW_TEST_MS);

  it('regression: while Redis is down, signed-in requests get 503 SERVICE_UNAVAILABLE with Retry-After (not 200 INTERNAL_SERVER_ERROR), WebSockets 1013 (not 4403), logout still works, and service resumes when it is back', async () => {
    const user = await register();
    const headers = bearer(user.session.accessToken);
    const keyed = await platform.query(CREATE_KEY, { input: { name: 'outage' } }, headers);
    const apiKey = keyed.body.data!.createApiKey.key as string;
    const ending = await register();
    await expectAccepted(headers, user.session.user.id);
    // A socket opened before the outage, whose operations re-check the credential.
    const open = await openSocket();
    open.send(JSON.stringify({ type: 'connection_init', payload: { authorization: headers.authorization } }));
    expect(await nextMessage(open)).toEqual({ type: 'connection_ack' });

    await redis.kill();

    for (const credential of [headers, { 'x-api-key': apiKey }]) await expectRetryLater(await postMe(credential));

    // Its operations get a retryable error, not UNAUTHENTICATED.
    open.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: ME } }));
    expect(await nextMessage(open)).toEqual({
      type: 'error',
      id: '1',
      payload: [{ message: 'Cannot check credentials right now; retry shortly', extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 5 } }],
    });
    open.close();

    // A WebSocket whose credential cannot be checked is told to try again later.
    const socket = await openSocket();
    const closed = once(socket, 'close') as Promise<[number, Buffer]>;
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: headers.authorization } }));
    const [closeCode] = await closed;
    expect(closeCode).toBe(1013);

    // Anonymous requests need no Redis; a login needs the brute-force limiter and says so.
    const anonymous = await platform.query('{ models { id } }');
    expect(anonymous.status).toBe(200);
    expect(anonymous.body).toEqual(withCost({ data: { models: [{ id: 'lotabots-tiny-cpu' }] } }));
    const login = await platform.query(LOGIN, { input: { email: user.email, password: PASSWORD } });
    expect(codeOf(login)).toBe('SERVICE_UNAVAILABLE');
    // Ending a session needs only PostgreSQL, the record; Redis' copy follows once it is back.
    expect((await platform.query(LOGOUT, { token: ending.session.refreshToken })).body).toEqual(withCost({ data: { logout: true } }));

    await redis.start();
    await servedAgain(headers);
    await expectAccepted(headers, user.session.user.id);
    await expectAccepted({ 'x-api-key': apiKey }, user.session.user.id);
    sessionOf(await platform.query(LOGIN, { input: { email: user.email, password: PASSWORD } }));
    await expectRefused(bearer(ending.session.accessToken));
  }, SLOW_TEST_MS);

  it('regression: a Redis that hangs (connections open, no answers) fails requests with 503 instead of holding them', async () => {
    const user = await register();
    const headers = bearer(user.session.accessToken);
    await expectAccepted(headers, user.session.user.id);
    // A session the gateway has not seen: one it saw within SESSION_CHECK_CACHE_MS would be
    // answered from its cache, and here Redis must be asked.
    const unseen = bearer((await register()).session.accessToken);
    redis.freeze(true);
    try {
      await expectRetryLater(await postMe(unseen));
    } finally {
      redis.freeze(false);
    }
    await servedAgain(headers);
  }, SLOW_TEST_MS);

  it('regression: the worker is listed again after Redis restarts empty', async () => {
    const workers = createWorkerRegistry(platform.redis, systemClock);
    const listed = async () => (await workers.liveWorkers().catch(() => [])).length === 1;
    await waitUntil(listed, 'the worker to be registered');
    const user = await register();
    await restartRedis(bearer(user.session.accessToken));
    await waitUntil(listed, 'the worker to register again at its next heartbeat');
  }, SLOW_TEST_MS);
});
