import { createHash, randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createIdentitySigner, IDENTITY_HEADER } from '../lib/auth/identity-header.js';
import { anonymousPrincipal, gatewayServicePrincipal, scopesOfRoles } from '../lib/auth/principal.js';
import { AD_HOC_API_KEY_DOCUMENTS } from './env.js';
import { type GraphQLResponse, postGraphQL, startTestPlatform, type TestPlatform, withCost } from './kit.js';
import { CHANGE_PASSWORD, CREATE_KEY, LIST_KEYS, LOGIN, LOGOUT, LOOSE_BRUTE_FORCE_LIMITS, REFRESH, REGISTER, REQUEST_RESET, RESET, REVOKE_KEY } from './users-operations.js';

/**
 * The body without each error's `extensions.requestId`: the one part that must differ between
 * two requests, so answers that must not tell cases apart are compared without it.
 */
function withoutRequestIds(body: GraphQLResponse['body']): GraphQLResponse['body'] {
  return {
    ...body,
    errors: body.errors?.map(({ extensions, ...error }) => {
      const { requestId: _requestId, ...rest } = extensions ?? {};
      return { ...error, extensions: rest };
    }),
  };
}

/**
 * The users subgraph's credentials through the real gateway: sessions and refresh-token
 * rotation, password change and reset, API keys, brute-force limits, and that no secret
 * ever comes back in an error.
 */

const ME = `query Me { me { id email scopes } }`;

interface Session {
  user: { id: string; email: string; roles: string[]; scopes: string[] };
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const codeOf = (response: GraphQLResponse) => response.body.errors?.[0]?.extensions?.code;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Wraps a platform so every password, token, key and hash a test uses is remembered, and every
 * response with errors is kept: the last test checks none of those secrets is in any of them.
 */
function secretsWatch(platform: () => TestPlatform) {
  const secrets = new Set<string>();
  const errorBodies: string[] = [];
  const keep = (...values: string[]) => {
    for (const value of values) {
      secrets.add(value);
      secrets.add(sha256(value));
    }
  };
  return {
    keep,
    errorBodies,
    secrets,
    async query<Data = Record<string, any>>(document: string, variables?: Record<string, unknown>, headers?: Record<string, string>) {
      const response = await platform().query<Data>(document, variables, headers);
      if (response.body.errors) errorBodies.push(JSON.stringify(response.body));
      return response;
    },
    async session(response: GraphQLResponse<Record<string, Session>>): Promise<Session> {
      expect(response.body.errors).toBeUndefined();
      const session = Object.values(response.body.data!)[0]!;
      keep(session.accessToken, session.refreshToken);
      return session;
    },
  };
}

describe('users: sessions, passwords and API keys', () => {
  let platform: TestPlatform;
  const watch = secretsWatch(() => platform);
  let counter = 0;

  beforeAll(async () => {
    platform = await startTestPlatform({ users: LOOSE_BRUTE_FORCE_LIMITS, gatewayEnv: AD_HOC_API_KEY_DOCUMENTS });
  });

  afterAll(() => platform?.stop());

  async function register(password = `a long password ${++counter}`) {
    const email = `person${++counter}@example.com`;
    watch.keep(password);
    const session = await watch.session(await watch.query(REGISTER, { input: { email, password, displayName: 'Person' } }));
    return { email, password, session };
  }

  const login = (email: string, password: string) => watch.query<{ login: Session }>(LOGIN, { input: { email, password } });
  const refresh = (token: string) => watch.query<{ refreshToken: Session }>(REFRESH, { token });
  const me = (headers: Record<string, string>) => watch.query<{ me: { id: string; email: string; scopes: string[] } | null }>(ME, {}, headers);

  /** The gateway refuses the credential itself: HTTP 401, UNAUTHENTICATED, no data. */
  async function expectRejectedCredential(headers: Record<string, string>) {
    const response = await me(headers);
    expect(response.status).toBe(401);
    expect(codeOf(response)).toBe('UNAUTHENTICATED');
    expect(response.body.data ?? null).toBeNull();
  }

  describe('register and login', () => {
    it('registers with a normalised email and returns tokens that work for me', async () => {
      const password = 'correct horse battery staple';
      watch.keep(password);
      const before = Date.now();
      const session = await watch.session(
        await watch.query(REGISTER, { input: { email: '  Grace.Hopper@Example.COM ', password, displayName: 'Grace' } }),
      );
      expect(session.user.email).toBe('grace.hopper@example.com');
      expect(session.user.roles).toEqual(['user']);
      expect(session.user.scopes).toContain('apikeys:manage');
      expect(session.refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
      const accessLifetime = Date.parse(session.accessTokenExpiresAt) - before;
      expect(accessLifetime).toBeGreaterThan(890_000);
      expect(accessLifetime).toBeLessThan(910_000);
      expect(Date.parse(session.refreshTokenExpiresAt) - before).toBeGreaterThan(29 * 86_400_000);

      const { status, body } = await me(bearer(session.accessToken));
      expect(status).toBe(200);
      expect(body.data?.me).toMatchObject({ id: session.user.id, email: 'grace.hopper@example.com' });

      const [row] = await platform.db.query<{ tokenHash: string }>(`SELECT "tokenHash" FROM users."RefreshToken" WHERE "userId" = $1`, [session.user.id]);
      expect(row!.tokenHash).toBe(sha256(session.refreshToken));

      const again = await login('GRACE.hopper@example.com', password);
      expect(again.body.errors).toBeUndefined();
      expect(again.body.data?.login.user.id).toBe(session.user.id);
    });

    it('answers me with null for an anonymous caller', async () => {
      const { body } = await watch.query(ME);
      expect(body.data?.me ?? null).toBeNull();
    });

    it('fails a wrong password and an unknown email with the same error, in similar time', async () => {
      const { email } = await register();
      const wrong: number[] = [];
      const unknown: number[] = [];
      const bodies = new Set<string>();
      // One unknown address tried as often as the known one: the progressive delay counts
      // failures per address, known or not, so both get the same delays.
      const nobody = `nobody-${randomUUID()}@example.com`;
      for (let i = 0; i < 7; i++) {
        for (const [times, address] of [
          [wrong, email],
          [unknown, nobody],
        ] as const) {
          const started = performance.now();
          const response = await login(address, 'not the password at all');
          times.push(performance.now() - started);
          bodies.add(JSON.stringify(withoutRequestIds(response.body)));
          expect(response.status).toBe(200);
        }
      }
      expect(bodies.size).toBe(1);
      const [body] = [...bodies].map((b) => JSON.parse(b) as GraphQLResponse['body']);
      expect(body!.errors?.[0]?.message).toBe('Invalid email or password');
      expect(body!.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const ratio = median(wrong) / median(unknown);
      expect(ratio).toBeGreaterThan(0.5);
      expect(ratio).toBeLessThan(2);
    });

    it('regression: a registration whose session cannot be stored leaves no account behind, and the email can register again', async () => {
      // A real fault in the database: inserting this account's first refresh token fails.
      await platform.db.query(`CREATE FUNCTION users.test_fail_first_session() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF EXISTS (SELECT 1 FROM users."User" WHERE id = NEW."userId" AND email = 'half-made@example.com') THEN
            RAISE EXCEPTION 'session storage failed';
          END IF;
          RETURN NEW;
        END $$`);
      await platform.db.query(
        `CREATE TRIGGER test_fail_first_session BEFORE INSERT ON users."RefreshToken" FOR EACH ROW EXECUTE FUNCTION users.test_fail_first_session()`,
      );
      const input = { email: 'half-made@example.com', password: 'a long password for later', displayName: 'Half' };
      watch.keep(input.password);
      try {
        const failed = await watch.query(REGISTER, { input });
        expect(codeOf(failed)).toBe('INTERNAL_SERVER_ERROR');
        expect(await platform.db.query(`SELECT 1 FROM users."User" WHERE email = 'half-made@example.com'`)).toHaveLength(0);
      } finally {
        await platform.db.query(`DROP TRIGGER test_fail_first_session ON users."RefreshToken"`);
        await platform.db.query(`DROP FUNCTION users.test_fail_first_session()`);
      }
      const retried = await watch.session(await watch.query(REGISTER, { input }));
      expect(retried.user.email).toBe('half-made@example.com');
      expect((await me(bearer(retried.accessToken))).body.data?.me?.email).toBe('half-made@example.com');
    });

    it('rejects a weak password and a duplicate email', async () => {
      const weak = await watch.query(REGISTER, { input: { email: 'weak@example.com', password: 'short', displayName: 'W' } });
      expect(codeOf(weak)).toBe('BAD_USER_INPUT');
      const { email } = await register();
      const duplicate = await watch.query(REGISTER, { input: { email: email.toUpperCase(), password: 'yet another password', displayName: 'Dup' } });
      expect(codeOf(duplicate)).toBe('CONFLICT');
    });
  });

  describe('refresh tokens', () => {
    it('rotates: new tokens work, the used refresh token then fails', async () => {
      const { session } = await register();
      const rotated = await watch.session(await refresh(session.refreshToken));
      expect(rotated.refreshToken).not.toBe(session.refreshToken);
      expect(rotated.accessToken).not.toBe(session.accessToken);
      expect((await me(bearer(rotated.accessToken))).body.data?.me?.id).toBe(session.user.id);

      const reused = await refresh(session.refreshToken);
      expect(codeOf(reused)).toBe('UNAUTHENTICATED');
      expect(reused.body.data ?? null).toBeNull();
    });

    it('revokes the whole family when a rotated token is reused: newest refresh and access tokens stop working', async () => {
      const { session } = await register();
      const second = await watch.session(await refresh(session.refreshToken));
      const third = await watch.session(await refresh(second.refreshToken));
      expect((await me(bearer(third.accessToken))).status).toBe(200);

      expect(codeOf(await refresh(session.refreshToken))).toBe('UNAUTHENTICATED');

      expect(codeOf(await refresh(third.refreshToken))).toBe('UNAUTHENTICATED');
      await expectRejectedCredential(bearer(third.accessToken));
      await expectRejectedCredential(bearer(session.accessToken));
      const rows = await platform.db.query<{ revokedAt: Date | null }>(`SELECT "revokedAt" FROM users."RefreshToken" WHERE "userId" = $1`, [session.user.id]);
      expect(rows).toHaveLength(3);
      expect(rows.every((row) => row.revokedAt !== null)).toBe(true);
    });

    it('lets only one of two concurrent uses of a refresh token succeed', async () => {
      const { session } = await register();
      const results = await Promise.all([refresh(session.refreshToken), refresh(session.refreshToken)]);
      const winners = results.filter((r) => !r.body.errors);
      expect(winners).toHaveLength(1);
      expect(codeOf(results.find((r) => r.body.errors)!)).toBe('UNAUTHENTICATED');
      // A second presentation is reuse, concurrent or not: the family ends for both.
      const winner = await watch.session(winners[0]!);
      expect(codeOf(await refresh(winner.refreshToken))).toBe('UNAUTHENTICATED');
    });

    it('rejects unknown and malformed refresh tokens alike', async () => {
      const unknown = await refresh(`rt_${'A'.repeat(43)}`);
      const malformed = await refresh('not-a-token');
      expect(withoutRequestIds(unknown.body)).toEqual(withoutRequestIds(malformed.body));
      expect(codeOf(unknown)).toBe('UNAUTHENTICATED');
    });

    it('logout ends the session: refresh fails and the access token is refused at once; unknown tokens answer true', async () => {
      const { session } = await register();
      const other = await register();
      const { body } = await watch.query(LOGOUT, { token: session.refreshToken });
      expect(body).toEqual(withCost({ data: { logout: true } }));
      expect(codeOf(await refresh(session.refreshToken))).toBe('UNAUTHENTICATED');
      await expectRejectedCredential(bearer(session.accessToken));
      // Only that session: the other user's is untouched.
      expect((await me(bearer(other.session.accessToken))).status).toBe(200);

      expect((await watch.query(LOGOUT, { token: session.refreshToken })).body).toEqual(withCost({ data: { logout: true } }));
      expect((await watch.query(LOGOUT, { token: `rt_${'B'.repeat(43)}` })).body).toEqual(withCost({ data: { logout: true } }));
      expect((await watch.query(LOGOUT, { token: 'garbage' })).body).toEqual(withCost({ data: { logout: true } }));
    });
  });

  describe('changePassword', () => {
    it('refuses a wrong current password with BAD_USER_INPUT and a reused one', async () => {
      const { password, session } = await register();
      const wrong = await watch.query(CHANGE_PASSWORD, { input: { currentPassword: 'not my password', newPassword: 'a brand new password' } }, bearer(session.accessToken));
      expect(codeOf(wrong)).toBe('BAD_USER_INPUT');
      expect(wrong.body.errors?.[0]?.extensions?.field).toBe('currentPassword');
      const same = await watch.query(CHANGE_PASSWORD, { input: { currentPassword: password, newPassword: password } }, bearer(session.accessToken));
      expect(codeOf(same)).toBe('BAD_USER_INPUT');
      // Neither ended the session.
      expect((await me(bearer(session.accessToken))).status).toBe(200);
    });

    it('ends every session, returns working tokens, and the new password signs in', async () => {
      const { email, password, session } = await register();
      const secondDevice = await watch.session(await login(email, password));
      const newPassword = 'a completely different passphrase';
      watch.keep(newPassword);
      const changed = await watch.session(
        await watch.query(CHANGE_PASSWORD, { input: { currentPassword: password, newPassword } }, bearer(session.accessToken)),
      );
      await expectRejectedCredential(bearer(session.accessToken));
      await expectRejectedCredential(bearer(secondDevice.accessToken));
      expect(codeOf(await refresh(secondDevice.refreshToken))).toBe('UNAUTHENTICATED');

      expect((await me(bearer(changed.accessToken))).body.data?.me?.id).toBe(session.user.id);
      await watch.session(await refresh(changed.refreshToken));
      expect(codeOf(await login(email, password))).toBe('UNAUTHENTICATED');
      await watch.session(await login(email, newPassword));
    });

    it('is refused without credentials and with an API key', async () => {
      const { password, session } = await register();
      const input = { currentPassword: password, newPassword: 'whatever new password' };
      expect(codeOf(await watch.query(CHANGE_PASSWORD, { input }))).toBe('UNAUTHENTICATED');
      const created = await watch.query(CREATE_KEY, { input: { name: 'ci' } }, bearer(session.accessToken));
      const key = created.body.data!.createApiKey.key as string;
      watch.keep(key);
      expect(codeOf(await watch.query(CHANGE_PASSWORD, { input }, { 'x-api-key': key }))).toBe('FORBIDDEN');
    });
  });

  describe('password reset', () => {
    const outboxOf = (email: string) =>
      platform.db.query<{ kind: string; subject: string; body: string }>(`SELECT kind, subject, body FROM users."OutboxMessage" WHERE recipient = $1 ORDER BY "createdAt"`, [email]);
    const tokenIn = (body: string) => {
      const token = /reset-password\?token=([A-Za-z0-9_-]{43})/.exec(body)?.[1];
      expect(token).toBeDefined();
      watch.keep(token!);
      return token!;
    };

    it('answers true for known and unknown emails and writes a message only for the account', async () => {
      const { email } = await register();
      expect((await watch.query(REQUEST_RESET, { email: ` ${email.toUpperCase()} ` })).body).toEqual(withCost({ data: { requestPasswordReset: true } }));
      expect((await watch.query(REQUEST_RESET, { email: 'no.such.person@example.com' })).body).toEqual(withCost({ data: { requestPasswordReset: true } }));
      const messages = await outboxOf(email);
      expect(messages).toHaveLength(1);
      expect(messages[0]!.kind).toBe('password-reset');
      expect(messages[0]!.body).toContain('https://app.lotabots.example/reset-password?token=');
      expect(await outboxOf('no.such.person@example.com')).toHaveLength(0);
      const token = tokenIn(messages[0]!.body);
      const [row] = await platform.db.query<{ tokenHash: string }>(`SELECT "tokenHash" FROM users."PasswordReset" r JOIN users."User" u ON u.id = r."userId" WHERE u.email = $1`, [email]);
      expect(row!.tokenHash).toBe(sha256(token));
    });

    it('resets once with the emailed token, ends all sessions, and the token cannot be used again', async () => {
      const { email, password, session } = await register();
      await watch.query(REQUEST_RESET, { email });
      const token = tokenIn((await outboxOf(email))[0]!.body);

      const weak = await watch.query(RESET, { input: { token, newPassword: 'short' } });
      expect(codeOf(weak)).toBe('BAD_USER_INPUT');
      expect(weak.body.errors?.[0]?.message).not.toContain('reset token');

      const newPassword = 'reset to something long';
      watch.keep(newPassword);
      expect((await watch.query(RESET, { input: { token, newPassword } })).body).toEqual(withCost({ data: { resetPassword: true } }));
      await expectRejectedCredential(bearer(session.accessToken));
      expect(codeOf(await refresh(session.refreshToken))).toBe('UNAUTHENTICATED');
      expect(codeOf(await login(email, password))).toBe('UNAUTHENTICATED');
      await watch.session(await login(email, newPassword));

      const again = await watch.query(RESET, { input: { token, newPassword: 'and once more please' } });
      expect(codeOf(again)).toBe('BAD_USER_INPUT');
      expect(again.body.errors?.[0]?.message).toBe('Invalid or expired reset token');
    });

    it('rejects an expired token and a made-up one', async () => {
      const { email } = await register();
      await watch.query(REQUEST_RESET, { email });
      const token = tokenIn((await outboxOf(email))[0]!.body);
      await platform.db.query(`UPDATE users."PasswordReset" SET "expiresAt" = '2000-01-01' WHERE "tokenHash" = $1`, [sha256(token)]);
      const expired = await watch.query(RESET, { input: { token, newPassword: 'too late for this one' } });
      expect(expired.body.errors?.[0]?.message).toBe('Invalid or expired reset token');
      const madeUp = await watch.query(RESET, { input: { token: 'C'.repeat(43), newPassword: 'too late for this one' } });
      expect(withoutRequestIds(madeUp.body)).toEqual(withoutRequestIds(expired.body));
    });
  });

  describe('API keys', () => {
    it('creates a key shown once and stored hashed, usable with both headers, recording lastUsedAt', async () => {
      const { session } = await register();
      const created = await watch.query(CREATE_KEY, { input: { name: '  partner integration  ' } }, bearer(session.accessToken));
      expect(created.body.errors).toBeUndefined();
      const { key, apiKey } = created.body.data!.createApiKey;
      watch.keep(key);
      expect(key).toMatch(/^lbk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      expect(key.startsWith(`${apiKey.prefix}_`)).toBe(true);
      expect(apiKey).toMatchObject({ name: 'partner integration', scopes: ['inference:read', 'inference:write', 'usage:read'], lastUsedAt: null, revokedAt: null });

      const rows = await platform.db.query<Record<string, unknown>>(`SELECT * FROM users."ApiKey" WHERE id = $1`, [apiKey.id]);
      expect(rows[0]!.keyHash).toBe(sha256(key));
      expect(JSON.stringify(rows)).not.toContain(key);
      expect(JSON.stringify(rows)).not.toContain(key.slice(apiKey.prefix.length + 1));

      for (const headers of [bearer(key), { 'x-api-key': key }]) {
        const { status, body } = await me(headers);
        expect(status).toBe(200);
        expect(body.data?.me?.id).toBe(session.user.id);
      }
      const [used] = await platform.db.query<{ lastUsedAt: Date | null }>(`SELECT "lastUsedAt" FROM users."ApiKey" WHERE id = $1`, [apiKey.id]);
      expect(used!.lastUsedAt).not.toBeNull();

      const listed = await watch.query(LIST_KEYS, {}, bearer(session.accessToken));
      expect(listed.body.data?.apiKeys).toEqual([expect.objectContaining({ id: apiKey.id, prefix: apiKey.prefix, lastUsedAt: expect.any(String) })]);
      expect(JSON.stringify(listed.body)).not.toContain(key);
    });

    it('only grants scopes the caller has, naming the others', async () => {
      const { session } = await register();
      const beyond = await watch.query(CREATE_KEY, { input: { name: 'too much', scopes: ['usage:read', 'users:read', 'usage:admin'] } }, bearer(session.accessToken));
      expect(codeOf(beyond)).toBe('FORBIDDEN');
      expect(beyond.body.errors?.[0]?.message).toContain('users:read');
      expect(beyond.body.errors?.[0]?.message).toContain('usage:admin');
      expect(beyond.body.errors?.[0]?.message).not.toContain('usage:read,');

      const narrow = await watch.query(CREATE_KEY, { input: { name: 'read only', scopes: ['usage:read', 'usage:read'] } }, bearer(session.accessToken));
      expect(narrow.body.data?.createApiKey.apiKey.scopes).toEqual(['usage:read']);
      const nameless = await watch.query(CREATE_KEY, { input: { name: '   ' } }, bearer(session.accessToken));
      expect(codeOf(nameless)).toBe('BAD_USER_INPUT');
    });

    it('cannot be managed with an API key, even one holding apikeys:manage', async () => {
      const { session } = await register();
      const created = await watch.query(CREATE_KEY, { input: { name: 'manager', scopes: ['apikeys:manage'] } }, bearer(session.accessToken));
      const key = created.body.data!.createApiKey.key as string;
      watch.keep(key);
      expect(codeOf(await watch.query(CREATE_KEY, { input: { name: 'minted' } }, { 'x-api-key': key }))).toBe('FORBIDDEN');
      expect(codeOf(await watch.query(LIST_KEYS, {}, { 'x-api-key': key }))).toBe('FORBIDDEN');
      expect(codeOf(await watch.query(CREATE_KEY, { input: { name: 'anonymous' } }))).toBe('UNAUTHENTICATED');
    });

    it('revokes immediately, even with the lookup cached at the gateway; another user cannot revoke it', async () => {
      const owner = await register();
      const stranger = await register();
      const created = await watch.query(CREATE_KEY, { input: { name: 'to revoke' } }, bearer(owner.session.accessToken));
      const { key, apiKey } = created.body.data!.createApiKey;
      watch.keep(key);
      expect((await me({ 'x-api-key': key })).status).toBe(200);

      const foreign = await watch.query(REVOKE_KEY, { id: apiKey.id }, bearer(stranger.session.accessToken));
      expect(codeOf(foreign)).toBe('NOT_FOUND');
      expect(codeOf(await watch.query(REVOKE_KEY, { id: 'not-a-uuid' }, bearer(owner.session.accessToken)))).toBe('NOT_FOUND');
      expect((await me({ 'x-api-key': key })).status).toBe(200);

      const revoked = await watch.query(REVOKE_KEY, { id: apiKey.id }, bearer(owner.session.accessToken));
      expect(revoked.body.data?.revokeApiKey).toMatchObject({ id: apiKey.id, revokedAt: expect.any(String) });
      await expectRejectedCredential({ 'x-api-key': key });
      await expectRejectedCredential(bearer(key));

      const again = await watch.query(REVOKE_KEY, { id: apiKey.id }, bearer(owner.session.accessToken));
      expect(again.body.data?.revokeApiKey.revokedAt).toBe(revoked.body.data?.revokeApiKey.revokedAt);
      const listed = await watch.query(LIST_KEYS, {}, bearer(owner.session.accessToken));
      expect(listed.body.data?.apiKeys).toEqual([expect.objectContaining({ id: apiKey.id, revokedAt: expect.any(String) })]);
    });

    it('allows at most 25 active keys per user', async () => {
      const { session } = await register();
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) {
        const created = await watch.query(CREATE_KEY, { input: { name: `key ${i}` } }, bearer(session.accessToken));
        watch.keep(created.body.data!.createApiKey.key);
        ids.push(created.body.data!.createApiKey.apiKey.id);
      }
      const over = await watch.query(CREATE_KEY, { input: { name: 'one too many' } }, bearer(session.accessToken));
      expect(codeOf(over)).toBe('CONFLICT');
      await watch.query(REVOKE_KEY, { id: ids[0] }, bearer(session.accessToken));
      const replaced = await watch.query(CREATE_KEY, { input: { name: 'replacement' } }, bearer(session.accessToken));
      expect(replaced.body.errors).toBeUndefined();
      watch.keep(replaced.body.data!.createApiKey.key);
    });
  });

  describe('users:read and the internal key lookup', () => {
    it('user(id) needs users:read: a plain user is refused, an admin may read anyone', async () => {
      const { email, password, session } = await register();
      const target = await register();
      const USER = `query($id: ID!) { user(id: $id) { id email scopes } }`;
      const plain = await watch.query(USER, { id: target.session.user.id }, bearer(session.accessToken));
      expect(codeOf(plain)).toBe('FORBIDDEN');
      expect(plain.body.data?.user ?? null).toBeNull();
      expect(codeOf(await watch.query(USER, { id: target.session.user.id }))).toBe('UNAUTHENTICATED');

      await platform.db.query(`UPDATE users."User" SET roles = ARRAY['admin'] WHERE id = $1`, [session.user.id]);
      const admin = await watch.session(await login(email, password));
      expect(admin.user.scopes).toContain('users:read');
      const read = await watch.query(USER, { id: target.session.user.id }, bearer(admin.accessToken));
      expect(read.body).toEqual(withCost({ data: { user: { id: target.session.user.id, email: target.email, scopes: expect.arrayContaining(['inference:read']) } } }));
    });

    it('_apiKeyPrincipal is not part of the public graph, and the subgraph refuses calls that bypass the gateway', async () => {
      const LOOKUP = `query { _apiKeyPrincipal(prefix: "lbk_000000000000", keyHash: "${'0'.repeat(64)}") { userId scopes } }`;
      const viaGateway = await watch.query(LOOKUP);
      expect(viaGateway.status).toBe(400);
      expect(codeOf(viaGateway)).toBe('GRAPHQL_VALIDATION_FAILED');

      const direct = await postGraphQL(platform.subgraphUrls.users, LOOKUP);
      expect(direct.status).toBe(401);
      expect(direct.body.data ?? null).toBeNull();
      const forged = await postGraphQL(platform.subgraphUrls.users, LOOKUP, {}, { 'x-lotabots-identity': 'forged.header.value' });
      expect(forged.status).toBe(401);
    });
  });

  describe('the gateway-only key lookup, called as the gateway would', () => {
    const LOOKUP = `query ApiKeyPrincipal($prefix: String!, $keyHash: String!) {
      _apiKeyPrincipal(prefix: $prefix, keyHash: $keyHash) { keyId userId roles scopes plan }
    }`;
    const lookup = async (identity: Parameters<ReturnType<typeof createIdentitySigner>['sign']>[0], prefix: string, keyHash: string) => {
      const header = await createIdentitySigner(platform.secrets.identitySecret).sign(identity);
      return postGraphQL<{ _apiKeyPrincipal: Record<string, unknown> | null }>(platform.subgraphUrls.users, LOOKUP, { prefix, keyHash }, { [IDENTITY_HEADER]: header });
    };

    it('answers the service identity with the owner for the right hash, null for a wrong one, and FORBIDDEN to anyone else', async () => {
      const { session } = await register();
      const created = await watch.query(CREATE_KEY, { input: { name: 'lookup', scopes: ['usage:read', 'apikeys:manage'] } }, bearer(session.accessToken));
      const { key, apiKey } = created.body.data!.createApiKey;
      watch.keep(key);

      const found = await lookup(gatewayServicePrincipal, apiKey.prefix, sha256(key));
      expect(found.body).toEqual({
        data: { _apiKeyPrincipal: { keyId: apiKey.id, userId: session.user.id, roles: ['user'], scopes: ['apikeys:manage', 'usage:read'], plan: 'free' } },
      });
      expect((await lookup(gatewayServicePrincipal, apiKey.prefix, sha256(`${key}x`))).body).toEqual({ data: { _apiKeyPrincipal: null } });
      expect((await lookup(gatewayServicePrincipal, apiKey.prefix, 'not hex')).body).toEqual({ data: { _apiKeyPrincipal: null } });
      expect((await lookup(gatewayServicePrincipal, 'lbk_ffffffffffff', sha256(key))).body).toEqual({ data: { _apiKeyPrincipal: null } });

      const asUser = {
        ...anonymousPrincipal('127.0.0.1'),
        kind: 'user' as const,
        userId: session.user.id,
        subject: `user:${session.user.id}`,
        roles: ['admin'],
        scopes: scopesOfRoles(['admin']),
      };
      const refused = await lookup(asUser, apiKey.prefix, sha256(key));
      expect(codeOf(refused)).toBe('FORBIDDEN');
      expect(refused.body.data?._apiKeyPrincipal ?? null).toBeNull();
      expect(codeOf(await lookup(anonymousPrincipal(null), apiKey.prefix, sha256(key)))).toBe('FORBIDDEN');
    });

    it('narrows a key to the scopes its owner still holds, and forgets revoked keys', async () => {
      const { session } = await register();
      const created = await watch.query(CREATE_KEY, { input: { name: 'narrowed', scopes: ['usage:read', 'apikeys:manage'] } }, bearer(session.accessToken));
      const { key, apiKey } = created.body.data!.createApiKey;
      watch.keep(key);
      await platform.db.query(`UPDATE users."User" SET roles = '{}', scopes = ARRAY['usage:read'] WHERE id = $1`, [session.user.id]);
      const narrowed = await lookup(gatewayServicePrincipal, apiKey.prefix, sha256(key));
      expect(narrowed.body.data?._apiKeyPrincipal).toMatchObject({ roles: [], scopes: ['usage:read'] });

      await platform.db.query(`UPDATE users."ApiKey" SET "revokedAt" = now() WHERE id = $1`, [apiKey.id]);
      expect((await lookup(gatewayServicePrincipal, apiKey.prefix, sha256(key))).body).toEqual({ data: { _apiKeyPrincipal: null } });
    });
  });

  it('never puts a password, token, key or hash in an error', () => {
    expect(watch.errorBodies.length).toBeGreaterThan(20);
    expect(watch.secrets.size).toBeGreaterThan(20);
    for (const body of watch.errorBodies) {
      for (const secret of watch.secrets) expect(body).not.toContain(secret);
    }
  });
});

describe('users: brute-force limits', () => {
  let platform: TestPlatform;
  const password = 'the right password';
  // Addresses as a trusted proxy in front of the gateway reports them.
  const from = (ip: string) => ({ 'x-forwarded-for': ip });

  beforeAll(async () => {
    platform = await startTestPlatform({
      gatewayEnv: { TRUSTED_PROXY_HOPS: '1' },
      users: {
        LOGIN_LIMIT_PER_ACCOUNT_AND_IP: { max: 2, windowSeconds: 60 },
        LOGIN_LIMIT_PER_ACCOUNT: { max: 6, windowSeconds: 60 },
        LOGIN_LIMIT_PER_IP: { max: 5, windowSeconds: 60 },
        REGISTER_LIMIT_PER_IP: { max: 5, windowSeconds: 60 },
        PASSWORD_RESET_LIMIT_PER_ACCOUNT: { max: 1, windowSeconds: 120 },
        PASSWORD_RESET_LIMIT_PER_IP: { max: 3, windowSeconds: 120 },
      },
    });
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      const { body } = await platform.query(REGISTER, { input: { email: `${name}@example.com`, password, displayName: name } });
      expect(body.errors).toBeUndefined();
    }
  });

  afterAll(() => platform?.stop());

  const login = (email: string, pw: string, ip = '192.0.2.1') => platform.query(LOGIN, { input: { email, password: pw } }, from(ip));

  function expectLimited(response: GraphQLResponse, windowSeconds: number) {
    const error = response.body.errors?.[0];
    expect(error?.extensions?.code).toBe('RATE_LIMITED');
    expect(error?.message).toBe('Too many attempts; retry later');
    const retryAfter = error?.extensions?.retryAfter as number;
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  }

  it('limits registrations per IP', async () => {
    const sixth = await platform.query(REGISTER, { input: { email: 'f@example.com', password, displayName: 'f' } });
    expectLimited(sixth, 60);
    const [row] = await platform.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users."User"`);
    expect(row!.n).toBe(5);
  });

  // This replaces "limits login attempts per account (even with the right password)": that
  // per-account lock-out let anyone anywhere lock an owner out with a few wrong passwords.
  it('regression: a stranger failing on an account from another address does not lock its owner out', async () => {
    const stranger = '203.0.113.66';
    expect(codeOf(await login('a@example.com', 'wrong password one', stranger))).toBe('UNAUTHENTICATED');
    expect(codeOf(await login('A@example.com', 'wrong password two', stranger))).toBe('UNAUTHENTICATED');
    // The stranger's address is done with this account, even with the right password...
    expectLimited(await login('a@example.com', 'wrong password three', stranger), 60);
    expectLimited(await login('a@example.com', password, stranger), 60);
    // ...but the owner, at home, signs in.
    expect((await login('a@example.com', password, '198.51.100.7')).body.errors).toBeUndefined();
  });

  it('counts only failed sign-ins per account and address: a success clears the address\'s failures', async () => {
    const owner = '198.51.100.8';
    expect(codeOf(await login('b@example.com', 'typo one', owner))).toBe('UNAUTHENTICATED');
    expect((await login('b@example.com', password, owner)).body.errors).toBeUndefined();
    expect(codeOf(await login('b@example.com', 'typo two', owner))).toBe('UNAUTHENTICATED');
    // Two failures would be the limit; the success in between cleared the first.
    expect((await login('b@example.com', password, owner)).body.errors).toBeUndefined();
    expect((await login('b@example.com', password, owner)).body.errors).toBeUndefined();
  });

  it('caps failed sign-ins per account from anywhere, slowing each one down progressively on the way', async () => {
    // Six failures from three addresses (two each, within the per-address limit).
    for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
      for (const attempt of [1, 2]) {
        const started = Date.now();
        expect(codeOf(await login('c@example.com', `guess ${ip} ${attempt}`, ip))).toBe('UNAUTHENTICATED');
        // The sixth failure waited 1 s (after 250 and 500 ms for the fourth and fifth): see progressiveDelayMs.
        if (ip.endsWith('.3') && attempt === 2) expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      }
    }
    // The ceiling now refuses everyone, the right password included, until the window moves.
    expectLimited(await login('c@example.com', password, '198.51.100.9'), 60);
    // Other accounts are untouched.
    expect((await login('d@example.com', password, '198.51.100.9')).body.errors).toBeUndefined();
  });

  it('limits login attempts per IP across accounts, successes included', async () => {
    const busy = '192.0.2.50';
    for (const name of ['a', 'b', 'd', 'e']) expect((await login(`${name}@example.com`, password, busy)).body.errors).toBeUndefined();
    expect(codeOf(await login('e@example.com', 'one typo', busy))).toBe('UNAUTHENTICATED');
    // Five attempts counted at this address: the sixth is refused whatever the account.
    expectLimited(await login('d@example.com', password, busy), 60);
  });

  it('counts a refused attempt against no limit', async () => {
    const ip = '192.0.2.60';
    for (const attempt of [1, 2]) expect(codeOf(await login('e@example.com', `guess ${attempt}`, ip))).toBe('UNAUTHENTICATED');
    for (let i = 0; i < 3; i++) expectLimited(await login('e@example.com', password, ip), 60);
    // Two failures and three refusals: had the refusals counted at this address, its five
    // attempts would be used up; three more sign-ins fit.
    for (let i = 0; i < 3; i++) expect((await login('d@example.com', password, ip)).body.errors).toBeUndefined();
  });

  it('limits password-reset requests per account and per IP, known emails or not', async () => {
    expect((await platform.query(REQUEST_RESET, { email: 'a@example.com' })).body.data?.requestPasswordReset).toBe(true);
    expectLimited(await platform.query(REQUEST_RESET, { email: ' A@example.com' }), 120);
    expect((await platform.query(REQUEST_RESET, { email: 'nobody@example.com' })).body.data?.requestPasswordReset).toBe(true);
    expectLimited(await platform.query(REQUEST_RESET, { email: 'b@example.com' }), 120);
    const messages = await platform.db.query(`SELECT 1 FROM users."OutboxMessage"`);
    expect(messages).toHaveLength(1);
  });
});
