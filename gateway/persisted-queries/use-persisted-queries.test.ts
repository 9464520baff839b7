import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';

import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { anonymousPrincipal, type Principal } from '../../lib/auth/principal.js';
import { connectRedis, deleteKeysWithPrefix, type Redis } from '../../lib/redis.js';
import { testEnv } from '../../test/env.js';
import { loadGatewayConfig } from '../config.js';
import { manifestOf, sha256Hex, type TrustedDocuments } from './manifest.js';
import { createPersistedQueryResolver } from './resolver.js';
import { type PersistedQueriesPolicy, usePersistedQueries } from './use-persisted-queries.js';

const TRUSTED = 'query Hello {\n  hello\n}';
const manifest = manifestOf([TRUSTED]);
const documents: TrustedDocuments = {
  bodyOf: (id) => manifest.operations.find((op) => op.id === id)?.body,
  hasName: (name) => manifest.operations.some((op) => op.name === name),
  size: manifest.operations.length,
};
const schema = createSchema({ typeDefs: 'type Query { hello: String }', resolvers: { Query: { hello: () => 'hi' } } });
const PARTNER: Principal = { ...anonymousPrincipal(null), kind: 'apiKey', subject: 'apiKey:k1', apiKeyId: 'k1' };
const USER: Principal = { ...anonymousPrincipal(null), kind: 'user', subject: 'user:u1', userId: 'u1' };

/** Stands in for gateway/auth's useAuth: the principal named by a test header. */
const principalFromHeader: Plugin<{ principal?: Principal }> = {
  onContextBuilding({ context, extendContext }) {
    const kind = (context as { request: Request }).request.headers.get('x-test-principal');
    extendContext({ principal: kind === 'apiKey' ? PARTNER : kind === 'user' ? USER : anonymousPrincipal(null) });
  },
};

describe('usePersistedQueries: who may run documents outside the manifest, by mode', () => {
  let redis: Redis;
  const prefix = `lotabots_test:${randomBytes(6).toString('hex')}:`;
  const logged: string[] = [];
  const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _encoding, done) => (logged.push(String(chunk)), done()) }));

  beforeAll(async () => {
    redis = await connectRedis({ url: testEnv.redisUrl, keyPrefix: prefix });
  });
  afterAll(async () => {
    redis?.disconnect();
    await deleteKeysWithPrefix(testEnv.redisUrl, prefix);
  });

  const gateway = (policy: Partial<PersistedQueriesPolicy>) => {
    const resolver = createPersistedQueryResolver({ redis, ttlSeconds: 60, documents: () => documents });
    const full: PersistedQueriesPolicy = { mode: 'enforce', allowArbitraryForTokens: true, allowArbitraryAnonymous: true, getMaxAgeSeconds: 60, credentialHeaders: ['x-api-key'], ...policy };
    return createYoga({ schema, logging: false, plugins: [principalFromHeader, usePersistedQueries(resolver, full, logger)] });
  };
  const ask = async (yoga: ReturnType<typeof gateway>, principal: string, body: Record<string, unknown>) => {
    const response = await yoga.fetch('http://gateway/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-principal': principal },
      body: JSON.stringify(body),
    });
    return (await response.json()) as { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> };
  };

  it('enforce: a partner key runs the manifest (by id, by APQ hash, or its exact text) and nothing else', async () => {
    const yoga = gateway({});
    expect((await ask(yoga, 'apiKey', { query: '{ hello }' })).errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_ALLOWED');
    expect((await ask(yoga, 'apiKey', { documentId: sha256Hex(TRUSTED) })).data).toEqual({ hello: 'hi' });
    expect((await ask(yoga, 'apiKey', { extensions: { persistedQuery: { version: 1, sha256Hash: sha256Hex(TRUSTED) } } })).data).toEqual({ hello: 'hi' });
    expect((await ask(yoga, 'apiKey', { query: TRUSTED })).data).toEqual({ hello: 'hi' });
  });

  it('regression: a query registered through APQ does not become trusted for partner keys', async () => {
    const yoga = gateway({});
    const query = '{ hello }';
    const extensions = { persistedQuery: { version: 1, sha256Hash: sha256Hex(query) } };
    await ask(yoga, 'user', { query, extensions });
    expect((await ask(yoga, 'apiKey', { extensions })).errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_ALLOWED');
  });

  it('first-party tokens and anonymous callers follow their settings', async () => {
    const strict = gateway({ allowArbitraryForTokens: false, allowArbitraryAnonymous: false });
    expect((await ask(strict, 'user', { query: '{ hello }' })).errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_ALLOWED');
    expect((await ask(strict, 'anonymous', { query: '{ hello }' })).errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_ALLOWED');
    const open = gateway({});
    expect((await ask(open, 'user', { query: '{ hello }' })).data).toEqual({ hello: 'hi' });
    expect((await ask(open, 'anonymous', { query: '{ hello }' })).data).toEqual({ hello: 'hi' });
  });

  it('log-only runs what enforce would refuse and logs it (without the document); off neither refuses nor logs', async () => {
    logged.length = 0;
    expect((await ask(gateway({ mode: 'log-only' }), 'apiKey', { query: '{ hello }' })).data).toEqual({ hello: 'hi' });
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({ subject: 'apiKey:k1', msg: expect.stringContaining('log-only') });
    expect(logged[0]).not.toContain('hello');
    expect((await ask(gateway({ mode: 'off' }), 'apiKey', { query: '{ hello }' })).data).toEqual({ hello: 'hi' });
    expect(logged).toHaveLength(1);
  });

  it('PERSISTED_QUERIES_MODE defaults to enforce in every environment: log-only is only ever chosen', () => {
    for (const NODE_ENV of ['development', 'test', 'production']) expect(loadGatewayConfig({ NODE_ENV, REDIS_URL: testEnv.redisUrl }).PERSISTED_QUERIES_MODE).toBe('enforce');
    expect(loadGatewayConfig({ PERSISTED_QUERIES_MODE: 'log-only' }).PERSISTED_QUERIES_MODE).toBe('log-only');
  });
});

describe('usePersistedQueries: a query sent as text', () => {
  const resolver = createPersistedQueryResolver({ redis: {} as Redis, ttlSeconds: 60, documents: () => documents });
  const policy: PersistedQueriesPolicy = { mode: 'enforce', allowArbitraryForTokens: true, allowArbitraryAnonymous: true, getMaxAgeSeconds: 60, credentialHeaders: [] };

  it('is all the resolver has nothing to look up for: no documentId, no APQ hash', () => {
    expect(resolver.namesDocument({ query: TRUSTED })).toBe(false);
    expect(resolver.namesDocument({ query: TRUSTED, extensions: { persistedQuery: 1 } })).toBe(false);
    expect(resolver.namesDocument({ documentId: 'id' })).toBe(true);
    expect(resolver.namesDocument({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256Hex(TRUSTED) } } })).toBe(true);
  });

  it('leaves onParams with no promise for the pipeline to wait on', () => {
    const onParams = usePersistedQueries(resolver, policy, pino({ level: 'silent' })).onParams!;
    const payload = { params: { query: TRUSTED }, request: new Request('http://gateway/graphql', { method: 'POST' }), setParams: () => {} };
    expect(onParams(payload as unknown as Parameters<typeof onParams>[0])).toBeUndefined();
  });
});
