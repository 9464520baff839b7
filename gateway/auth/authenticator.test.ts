import { randomUUID } from 'node:crypto';

import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it, vi } from 'vitest';

import * as accessTokens from '../../lib/auth/access-token.js';
import { loadSigningKeys, type SigningKeys } from '../../lib/auth/keys.js';
import { anonymousPrincipal } from '../../lib/auth/principal.js';
import { createLogger } from '../../lib/logger.js';
import type { ApiKeyResolver } from './api-keys.js';
import { createAuthenticator, MAX_VERIFIED_ACCESS_TOKENS } from './authenticator.js';

vi.mock('../../lib/auth/access-token.js', async (original) => {
  const actual = await original<typeof import('../../lib/auth/access-token.js')>();
  return { ...actual, verifyAccessToken: vi.fn(actual.verifyAccessToken) };
});

const LIFETIME_SECONDS = 900;
let keys: SigningKeys;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  keys = await loadSigningKeys({ privateKeyPem: await exportPKCS8(pair.privateKey), publicKeyPem: await exportSPKI(pair.publicKey), keyId: 'test-1', devKeyDir: '/nonexistent', production: true }, true);
});

/** An authenticator over a revocation set and clock the test controls, and tokens issued at that clock. */
function setup() {
  let now = new Date('2026-12-01T12:00:00Z');
  const revoked = new Set<string>();
  const isRevoked = vi.fn(async (sessionId: string) => revoked.has(sessionId));
  const authenticator = createAuthenticator({
    keys: { publicKey: keys.publicKey, keyId: keys.keyId, maxLifetimeSeconds: LIFETIME_SECONDS },
    revocations: { isRevoked },
    oidc: { handles: () => false, verify: async () => null },
    apiKeys: { resolve: async () => null } as unknown as ApiKeyResolver,
    clock: { now: () => now },
    logger: createLogger({ name: 'test', level: 'silent' }),
  });
  const issuer = accessTokens.createAccessTokenIssuer(keys, LIFETIME_SECONDS, () => now);
  const issue = async (sessionId = randomUUID()) => ({
    sessionId,
    token: (await issuer.issue({ userId: randomUUID(), roles: ['user'], scopes: ['profile:read'], plan: 'free', sessionId })).token,
  });
  const authenticate = (token: string) => authenticator.authenticate(new Headers({ authorization: `Bearer ${token}` }), '127.0.0.1');
  return {
    revoked,
    isRevoked,
    issue,
    authenticate,
    advance: (seconds: number) => void (now = new Date(now.getTime() + seconds * 1000)),
  };
}

const verifyCalls = () => vi.mocked(accessTokens.verifyAccessToken).mock.calls.length;

describe('createAuthenticator: no credential', () => {
  it('answers anonymous at once, with no promise for the pipeline to wait on', () => {
    const principal = createAuthenticator({
      keys: { publicKey: keys.publicKey, keyId: keys.keyId, maxLifetimeSeconds: LIFETIME_SECONDS },
      revocations: { isRevoked: async () => false },
      oidc: { handles: () => false, verify: async () => null },
      apiKeys: { resolve: async () => null } as unknown as ApiKeyResolver,
      clock: { now: () => new Date() },
      logger: createLogger({ name: 'test', level: 'silent' }),
    }).authenticate(new Headers(), '127.0.0.1');
    expect(principal).not.toBeInstanceOf(Promise);
    expect(principal).toEqual(anonymousPrincipal('127.0.0.1'));
  });
});

describe('createAuthenticator: verified access tokens', () => {
  it('verifies a token once and checks its session on every request', async () => {
    const { issue, authenticate, isRevoked } = setup();
    const { token, sessionId } = await issue();
    const before = verifyCalls();
    const first = await authenticate(token);
    const second = await authenticate(token);
    expect(second).toEqual(first);
    expect(first).toMatchObject({ kind: 'user', sessionId, clientIp: '127.0.0.1' });
    expect(verifyCalls() - before).toBe(1);
    expect(isRevoked.mock.calls).toEqual([[sessionId], [sessionId]]);
  });

  it('refuses a token it has verified once its session is revoked', async () => {
    const { issue, authenticate, revoked } = setup();
    const { token, sessionId } = await issue();
    await authenticate(token);
    revoked.add(sessionId);
    await expect(authenticate(token)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
  });

  it('refuses a token it has verified once the token expires, and not a second before', async () => {
    const { issue, authenticate, advance } = setup();
    const { token } = await issue();
    await authenticate(token);
    advance(LIFETIME_SECONDS - 1);
    await expect(authenticate(token)).resolves.toMatchObject({ kind: 'user' });
    advance(1);
    await expect(authenticate(token)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    await expect(authenticate(token)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('keeps no claims for a token that does not verify', async () => {
    const { issue, authenticate } = setup();
    const { token } = await issue();
    const [header, payload] = token.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(86)}`;
    const before = verifyCalls();
    await expect(authenticate(forged)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    await expect(authenticate(forged)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    expect(verifyCalls() - before).toBe(2);
  });

  it(`keeps at most ${MAX_VERIFIED_ACCESS_TOKENS} tokens, dropping the oldest`, async () => {
    const { issue, authenticate } = setup();
    const first = await issue();
    await authenticate(first.token);
    for (let i = 0; i < MAX_VERIFIED_ACCESS_TOKENS; i++) await authenticate((await issue()).token);
    const before = verifyCalls();
    await authenticate(first.token);
    expect(verifyCalls() - before).toBe(1);
  });
});
