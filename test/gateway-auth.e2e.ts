import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createClient } from 'graphql-ws';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { createAccessTokenIssuer } from '../lib/auth/access-token.js';
import { createIdentitySigner, IDENTITY_HEADER } from '../lib/auth/identity-header.js';
import { anonymousPrincipal } from '../lib/auth/principal.js';
import { announceRevocations, createRevokedSessionsCache } from '../lib/auth/revocation.js';
import { postGraphQL, startTestPlatform, type TestPlatform, withCost } from './kit.js';

/** A stand-in OIDC identity provider: serves its JWKS and counts fetches. */
class JwksServer {
  keys: Array<{ kid: string; privateKey: CryptoKey; jwk: JWK }> = [];
  fetches = 0;
  private server: Server = createServer((_request, response) => {
    this.fetches += 1;
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }));
  });
  url = '';
  async start() {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }
  async rotate(): Promise<string> {
    const kid = `idp-${randomBytes(3).toString('hex')}`;
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    this.keys = [{ kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } }];
    return kid;
  }
  token(claims: Record<string, unknown>, options: { audience?: string; expiresIn?: string } = {}) {
    const key = this.keys[0]!;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .setIssuer('https://idp.example.test')
      .setAudience(options.audience ?? 'lotabots-api')
      .setSubject('partner-robot-7')
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '5m')
      .sign(key.privateKey);
  }
  stop() {
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Every HTTP error names its request (gateway/access-log/). */
const unauthenticated = { errors: [{ message: 'Invalid or expired credentials', extensions: { code: 'UNAUTHENTICATED', requestId: expect.any(String) } }] };

describe('authentication at the gateway', () => {
  let platform: TestPlatform;
  let idp: JwksServer;
  let userId: string;
  const sessionId = randomUUID();
  const me = '{ me { id } }';
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    idp = new JwksServer();
    await idp.start();
    await idp.rotate();
    platform = await startTestPlatform({
      gatewayEnv: {
        OIDC_ISSUERS: JSON.stringify([{ issuer: 'https://idp.example.test', jwksUri: idp.url, audience: 'lotabots-api', scopeClaim: 'scp' }]),
        OIDC_JWKS_COOLDOWN_MS: '200',
        // Every bad credential here comes from 127.0.0.1; the per-address limit has its own tests below.
        AUTH_FAILURE_LIMIT_PER_IP: '1000/60',
      },
    });
    [{ id: userId }] = (await platform.db.query<{ id: string }>(
      `INSERT INTO users."User" (id, email, "displayName", "passwordHash", "updatedAt") VALUES (gen_random_uuid(), 'tok@example.com', 'Tok', 'x', now()) RETURNING id`,
    )) as [{ id: string }];
  });
  afterAll(async () => {
    await platform?.stop();
    await idp?.stop();
  });

  const issue = (now = new Date(), lifetime = 900, session = sessionId) =>
    createAccessTokenIssuer(platform.secrets.signingKeys, lifetime, () => now)
      .issue({ userId, roles: ['user'], scopes: ['inference:read'], plan: 'free', sessionId: session })
      .then((t) => t.token);
  /** What the users subgraph writes to Redis when it revokes a session. */
  /** As the users subgraph revokes a session: into Redis' copy, then the notice (which ends what gateways keep of it). */
  const revokeInCache = async (session: string) => {
    await createRevokedSessionsCache(platform.redis).add([{ sessionId: session, until: new Date(Date.now() + 900_000) }], new Date());
    await announceRevocations(platform.redis, { sessionIds: [session] });
  };

  it('accepts a valid access token and forwards the user to the subgraphs', async () => {
    const { status, body } = await platform.query(me, undefined, bearer(await issue()));
    expect(status).toBe(200);
    expect(body).toEqual(withCost({ data: { me: { id: userId } } }));
  });

  it('treats a request without credentials as anonymous', async () => {
    const { status, body } = await platform.query('{ models { id } }');
    expect(status).toBe(200);
    expect(body.data).toEqual({ models: [{ id: 'lotabots-tiny-cpu' }] });
  });

  /** A well-formed access token signed with the platform's own key, with a chosen header and times. */
  const signedWithOurKey = (header: { kid?: string }, iat: number, exp: number) =>
    new SignJWT({ roles: ['user'], scope: 'inference:read', plan: 'free', sid: sessionId })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', ...header })
      .setIssuer('lotabots').setAudience('lotabots-api').setSubject(userId).setIssuedAt(iat).setExpirationTime(exp)
      .sign(platform.secrets.signingKeys.privateKey!);
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  const badTokens: Array<[string, () => Promise<string>]> = [
    ['malformed', async () => 'not-a-jwt'],
    ['garbage segments', async () => 'eyJhbGciOi.eyJzdWIi.c2ln'],
    ['expired', () => issue(new Date(Date.now() - 3_600_000), 60)],
    [
      'alg none',
      async () => {
        const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
        const now = Math.floor(Date.now() / 1000);
        const payload = Buffer.from(
          JSON.stringify({ iss: 'lotabots', aud: 'lotabots-api', sub: userId, sid: sessionId, roles: ['admin'], scope: 'users:read', plan: 'enterprise', iat: now, exp: now + 600 }),
        ).toString('base64url');
        return `${header}.${payload}.`;
      },
    ],
    [
      'signed with another key',
      async () => {
        const { privateKey } = await generateKeyPair('ES256');
        return new SignJWT({ roles: ['user'], scope: '', plan: 'free', sid: sessionId })
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: platform.secrets.signingKeys.keyId })
          .setIssuer('lotabots').setAudience('lotabots-api').setSubject(userId).setIssuedAt().setExpirationTime('5m')
          .sign(privateKey);
      },
    ],
    [
      'HS256 keyed with the public key (algorithm confusion)',
      async () => {
        const publicPem = await exportSPKI(platform.secrets.signingKeys.publicKey);
        return new SignJWT({ roles: ['user'], scope: '', plan: 'free', sid: sessionId })
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
          .setIssuer('lotabots').setAudience('lotabots-api').setSubject(userId).setIssuedAt().setExpirationTime('5m')
          .sign(new TextEncoder().encode(publicPem));
      },
    ],
    [
      'from an issuer that is not configured',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        return new SignJWT({ scp: ['users:read'] })
          .setProtectedHeader({ alg: 'RS256', kid: 'x' })
          .setIssuer('https://unknown-idp.example.test').setAudience('lotabots-api').setSubject('x').setIssuedAt().setExpirationTime('5m')
          .sign(privateKey);
      },
    ],
  ];

  // Each of these was accepted, being signed with the right key.
  const signedButInvalid: Array<[string, () => Promise<string>]> = [
    ['issued an hour in the future', () => issue(new Date(Date.now() + 3_600_000))],
    ['living 24 hours (longer than the users subgraph ever issues)', () => issue(new Date(), 86_400)],
    ['naming another kid', () => signedWithOurKey({ kid: 'retired-key' }, nowSeconds(), nowSeconds() + 300)],
    ['naming no kid', () => signedWithOurKey({}, nowSeconds(), nowSeconds() + 300)],
  ];

  it('accepts an iat a few seconds ahead, within the clock-skew allowance', async () => {
    const token = await signedWithOurKey({ kid: platform.secrets.signingKeys.keyId }, nowSeconds() + 10, nowSeconds() + 600);
    expect((await platform.query(me, undefined, bearer(token))).body).toEqual(withCost({ data: { me: { id: userId } } }));
  });

  it.each(badTokens)('rejects a token that is %s with 401 UNAUTHENTICATED', async (_kind, make) => {
    const { status, body } = await platform.query(me, undefined, bearer(await make()));
    expect(status).toBe(401);
    expect(body).toEqual(unauthenticated);
  });

  it.each(signedButInvalid)('regression: rejects an access token %s with 401 UNAUTHENTICATED, though our key signed it', async (_kind, make) => {
    const { status, body } = await platform.query(me, undefined, bearer(await make()));
    expect(status).toBe(401);
    expect(body).toEqual(unauthenticated);
  });

  it('rejects the access tokens of a revoked session at once', async () => {
    const session = randomUUID();
    const token = await issue(new Date(), 900, session);
    expect((await platform.query(me, undefined, bearer(token))).body.data).toEqual({ me: { id: userId } });
    await revokeInCache(session);
    const { status, body } = await platform.query(me, undefined, bearer(token));
    expect(status).toBe(401);
    expect(body).toEqual(unauthenticated);
  });

  it.each([
    ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['two credentials', { authorization: 'Bearer abc', 'x-api-key': 'lbk_000000000000_x' }],
    ['an unknown API key', { 'x-api-key': `lbk_0123456789ab_${randomBytes(32).toString('base64url')}` }],
    ['a malformed API key', { authorization: 'Bearer lbk_short' }],
  ])('rejects %s with 401 UNAUTHENTICATED', async (_kind, headers) => {
    const { status, body } = await platform.query('{ models { id } }', undefined, headers);
    expect(status).toBe(401);
    expect(body).toEqual(unauthenticated);
  });

  it('never echoes a presented token in the response', async () => {
    const token = await issue(new Date(Date.now() - 3_600_000), 60);
    const response = await fetch(platform.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      body: JSON.stringify({ query: me }),
    });
    expect(await response.text()).not.toContain(token.split('.')[2]!);
  });

  describe('OIDC tokens from a configured outside issuer', () => {
    it('accepts a token verified through the issuer JWKS, fetching the key set once', async () => {
      const fetchesBefore = idp.fetches;
      for (let i = 0; i < 3; i++) {
        const { status, body } = await platform.query('{ models { id } }', undefined, bearer(await idp.token({ scp: ['inference:read'] })));
        expect(status).toBe(200);
        expect(body.data).toEqual({ models: [{ id: 'lotabots-tiny-cpu' }] });
      }
      expect(idp.fetches - fetchesBefore).toBeLessThanOrEqual(1);
    });

    it('refetches the JWKS when a token names an unknown kid (key rotation)', async () => {
      await platform.query('{ models { id } }', undefined, bearer(await idp.token({})));
      const fetchesBefore = idp.fetches;
      await idp.rotate();
      await new Promise((resolve) => setTimeout(resolve, 250)); // past the configured cooldown
      const { status } = await platform.query('{ models { id } }', undefined, bearer(await idp.token({})));
      expect(status).toBe(200);
      expect(idp.fetches).toBe(fetchesBefore + 1);
    });

    it('rejects wrong-audience and expired issuer tokens', async () => {
      for (const token of [await idp.token({}, { audience: 'someone-else' }), await idp.token({}, { expiresIn: '-1m' })]) {
        const { status, body } = await platform.query('{ models { id } }', undefined, bearer(token));
        expect(status).toBe(401);
        expect(body).toEqual(unauthenticated);
      }
    });

    it('gives an OIDC caller no LotaBots user', async () => {
      const { body } = await platform.query('{ me { id } }', undefined, bearer(await idp.token({})));
      expect(body.data?.me ?? null).toBeNull();
    });
  });

  describe('over WebSocket (graphql-transport-ws)', () => {
    const wsUrl = () => platform.gatewayUrl.replace(/^http/, 'ws');
    const runOnce = async (connectionParams: Record<string, string>, query: string) => {
      const client = createClient({ url: wsUrl(), webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
      try {
        const results = [];
        for await (const result of client.iterate({ query })) results.push(result);
        return results;
      } finally {
        await client.dispose();
      }
    };

    it('authenticates at connection_init and runs operations as that user', async () => {
      expect(await runOnce({ authorization: `Bearer ${await issue()}` }, me)).toEqual([withCost({ data: { me: { id: userId } } })]);
    });

    it('runs as anonymous without credentials', async () => {
      expect(await runOnce({}, '{ models { id } }')).toEqual([withCost({ data: { models: [{ id: 'lotabots-tiny-cpu' }] } })]);
    });

    it('closes the socket with 4403 for a bad or revoked credential', async () => {
      const revokedSession = randomUUID();
      const revoked = await issue(new Date(), 900, revokedSession);
      await revokeInCache(revokedSession);
      const attempts: Array<Record<string, string>> = [{ authorization: 'Bearer not-a-jwt' }, { authorization: `Bearer ${revoked}` }, { 'x-api-key': 'lbk_nope' }];
      for (const params of attempts) {
        await expect(runOnce(params, me)).rejects.toMatchObject({ code: 4403 });
      }
    });
  });

  describe('subgraphs trust only the gateway', () => {
    it('refuses a direct call without the signed identity header with 401', async () => {
      const { status, body } = await postGraphQL(platform.subgraphUrls.users, '{ me { id } }');
      expect(status).toBe(401);
      expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(body.data ?? null).toBeNull();
    });

    it('refuses an identity header signed with another secret', async () => {
      const forged = await createIdentitySigner(randomBytes(32)).sign({ ...anonymousPrincipal(null), kind: 'user', userId, subject: `user:${userId}` });
      const { status } = await postGraphQL(platform.subgraphUrls.users, '{ me { id } }', undefined, { [IDENTITY_HEADER]: forged });
      expect(status).toBe(401);
    });

    it('accepts the gateway-signed header', async () => {
      const genuine = await createIdentitySigner(platform.secrets.identitySecret).sign({ ...anonymousPrincipal(null), kind: 'user', userId, subject: `user:${userId}` });
      const { status, body } = await postGraphQL(platform.subgraphUrls.users, '{ me { id } }', undefined, { [IDENTITY_HEADER]: genuine });
      expect(status).toBe(200);
      expect(body.data).toEqual({ me: { id: userId } });
    });
  });
});

describe('failed credentials per client address', () => {
  let platform: TestPlatform;
  const LIMIT = 5;
  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  const randomApiKey = () => `lbk_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('base64url')}`;
  const models = '{ models { id } }';

  beforeAll(async () => {
    platform = await startTestPlatform({ gatewayEnv: { TRUSTED_PROXY_HOPS: '1', AUTH_FAILURE_LIMIT_PER_IP: `${LIMIT}/60` } });
  });
  afterAll(() => platform?.stop());

  /** How many API key lookups the users subgraph has answered (its own metrics). */
  async function apiKeyLookups(): Promise<number> {
    const text = await (await fetch(platform.metricsUrls.users)).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith('lotabots_graphql_requests_total{') && line.includes('operationName="ApiKeyPrincipal"'))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  }

  /** Negative-cache entries the gateway wrote for unknown keys. */
  async function unknownKeyEntries(): Promise<number> {
    const prefix = String(platform.redis.options.keyPrefix);
    let [cursor, count] = ['0', 0];
    do {
      const [next, keys] = await platform.redis.scan(cursor, 'MATCH', `${prefix}auth:apikey:*`, 'COUNT', 1000);
      [cursor, count] = [next, count + keys.length];
    } while (cursor !== '0');
    return count;
  }

  it('regression: random API keys from one address stop costing key lookups and cache entries past the limit', async () => {
    const guesser = '203.0.113.10';
    const lookupsBefore = await apiKeyLookups();
    for (let i = 0; i < LIMIT; i++) {
      const { status, body } = await platform.query(models, undefined, { ...from(guesser), 'x-api-key': randomApiKey() });
      expect(status).toBe(401);
      expect(body).toEqual(unauthenticated);
    }
    expect(await apiKeyLookups()).toBe(lookupsBefore + LIMIT);
    for (let i = 0; i < 20; i++) {
      const response = await fetch(platform.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...from(guesser), 'x-api-key': randomApiKey() },
        body: JSON.stringify({ query: models }),
      });
      expect(response.status).toBe(429);
      const retryAfter = Number(response.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const body = (await response.json()) as { errors: Array<{ extensions: Record<string, unknown> }> };
      expect(body.errors[0]!.extensions).toEqual({ code: 'RATE_LIMITED', retryAfter, requestId: expect.any(String) });
    }
    expect(await apiKeyLookups()).toBe(lookupsBefore + LIMIT);
    expect(await unknownKeyEntries()).toBe(LIMIT);
    // Every credential from that address waits, a valid one too; anonymous requests do not.
    expect((await platform.query(models, undefined, { ...from(guesser), authorization: `Bearer ${await platform.tokenFor(randomUUID())}` })).status).toBe(429);
    expect((await platform.query(models, undefined, from(guesser))).body.data).toEqual({ models: [{ id: 'lotabots-tiny-cpu' }] });
  });

  it('refuses an access token it has verified before from an address over its limit', async () => {
    const address = '203.0.113.12';
    const valid = { ...from(address), authorization: `Bearer ${await platform.tokenFor(randomUUID())}` };
    expect((await platform.query(models, undefined, valid)).status).toBe(200);
    for (let i = 0; i < LIMIT; i++) expect((await platform.query(models, undefined, { ...from(address), authorization: 'Bearer not-a-jwt' })).status).toBe(401);
    for (let i = 0; i < 3; i++) {
      const { status, body } = await platform.query(models, undefined, valid);
      expect(status).toBe(429);
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    }
  });

  it('leaves other addresses alone: their bad credentials are 401, their good ones work', async () => {
    const neighbour = '203.0.113.11';
    expect((await platform.query(models, undefined, { ...from(neighbour), 'x-api-key': randomApiKey() })).status).toBe(401);
    expect((await platform.query(models, undefined, { ...from(neighbour), authorization: 'Bearer not-a-jwt' })).status).toBe(401);
    const { status, body } = await platform.query(models, undefined, { ...from(neighbour), authorization: `Bearer ${await platform.tokenFor(randomUUID())}` });
    expect(status).toBe(200);
    expect(body.data).toEqual({ models: [{ id: 'lotabots-tiny-cpu' }] });
  });

  describe('over WebSocket', () => {
    /** A `ws` WebSocket whose upgrade request comes through the proxy on behalf of `ip`. */
    const socketFrom = (ip: string) =>
      class extends WebSocket {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols, { headers: from(ip) });
        }
      };
    const runOnce = async (ip: string, connectionParams: Record<string, string>) => {
      const client = createClient({
        url: platform.gatewayUrl.replace(/^http/, 'ws'),
        webSocketImpl: socketFrom(ip),
        connectionParams,
        retryAttempts: 0,
        lazy: true,
      });
      try {
        const results = [];
        for await (const result of client.iterate({ query: models })) results.push(result);
        return results;
      } finally {
        await client.dispose();
      }
    };

    it('regression: takes the client IP from X-Forwarded-For like HTTP, so clients behind the proxy are limited apart', async () => {
      const [guesser, neighbour] = ['203.0.113.20', '203.0.113.21'];
      for (let i = 0; i < LIMIT; i++) await expect(runOnce(guesser, { authorization: 'Bearer not-a-jwt' })).rejects.toMatchObject({ code: 4403 });
      const valid = { authorization: `Bearer ${await platform.tokenFor(randomUUID())}` };
      // The guesser's address is over its limit, over WebSocket (1013: try again later, not
      // 4403, since the credential itself is fine) and over HTTP alike...
      await expect(runOnce(guesser, valid)).rejects.toMatchObject({ code: 1013 });
      expect((await platform.query(models, undefined, { ...from(guesser), ...valid })).status).toBe(429);
      // ...while a neighbour behind the same proxy (same socket address) is not.
      expect(await runOnce(neighbour, valid)).toEqual([withCost({ data: { models: [{ id: 'lotabots-tiny-cpu' }] } })]);
    });
  });
});
