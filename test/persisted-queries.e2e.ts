import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { createClient as createUrqlClient, fetchExchange } from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';
import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import type { PersistedQueryManifest } from '../gateway/persisted-queries/manifest.js';
import { startTestPlatform, type TestPlatform } from './kit.js';

type Body = { data?: any; errors?: Array<{ message: string; extensions?: Record<string, any> }> };
type Transport = 'POST' | 'GET' | 'SSE' | 'multipart' | 'Apollo multipart' | 'graphql-ws';
const TRANSPORTS: Transport[] = ['POST', 'GET', 'SSE', 'multipart', 'Apollo multipart', 'graphql-ws'];
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const PREFLIGHTED = { 'apollo-require-preflight': 'true' };
const NOT_IN_MANIFEST = 'query Adhoc { models { id } }';

describe('persisted queries: APQ, trusted documents, and partner keys limited to the manifest on every transport', () => {
  let platform: TestPlatform;
  let dir: string;
  let manifestFile: string;
  let manifest: PersistedQueryManifest;
  let partnerKey: string;
  const sockets: Array<{ dispose(): unknown }> = [];
  const idOf = (name: string) => manifest.operations.find((op) => op.name === name)!.id;

  /** One operation over one transport; every transport's answer as a single `{ data, errors }`. */
  async function send(transport: Transport, params: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Body> {
    if (transport === 'graphql-ws') {
      const client = createWsClient({ url: platform.gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: headers, retryAttempts: 0 });
      sockets.push(client);
      const results: Body[] = [];
      // graphql-ws requires a query string: a persisted operation sends an empty one.
      for await (const result of client.iterate({ query: '', ...params } as never)) results.push(result as Body);
      return results[0]!;
    }
    if (transport === 'GET') {
      const url = new URL(platform.gatewayUrl);
      for (const [name, value] of Object.entries(params)) url.searchParams.set(name, typeof value === 'string' ? value : JSON.stringify(value));
      // The CSRF rule asks a GET to show it was preflighted (browser clients set this header).
      const response = await fetch(url, { headers: { accept: 'application/json', ...PREFLIGHTED, ...headers } });
      return (await response.json()) as Body;
    }
    const accept = {
      POST: 'application/json',
      SSE: 'text/event-stream',
      multipart: 'multipart/mixed',
      // What Apollo Client's HttpLink sends for a subscription.
      'Apollo multipart': 'multipart/mixed;subscriptionSpec="1.0",application/json',
    }[transport];
    const response = await fetch(platform.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json', accept, ...headers }, body: JSON.stringify(params) });
    const text = await response.text();
    if (transport === 'POST') return JSON.parse(text) as Body;
    // The first JSON object in the stream (an SSE `data:` line or a multipart part).
    const json = /^(?:data: )?(\{.*\})\s*$/m.exec(text);
    if (!json) throw new Error(`no result in the ${transport} answer: ${text}`);
    const parsed = JSON.parse(json[1]!) as Body & { payload?: Body };
    return parsed.payload ?? parsed;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'persisted-'));
    manifestFile = join(dir, 'persisted-documents.json');
    const generated = await readFile('clients/persisted-documents.json', 'utf8');
    manifest = JSON.parse(generated) as PersistedQueryManifest;
    await writeFile(manifestFile, generated);
    platform = await startTestPlatform({ gatewayEnv: { PERSISTED_DOCUMENTS_FILE: manifestFile } });
    const { body } = await platform.query<{ register: { accessToken: string } }>(
      'mutation { register(input: { email: "partner@example.com", password: "correct horse battery", displayName: "Partner" }) { accessToken } }',
    );
    const token = body.data!.register.accessToken;
    const created = await platform.query<{ createApiKey: { key: string } }>(
      'mutation { createApiKey(input: { name: "partner", scopes: ["inference:read", "usage:read"] }) { key } }',
      undefined,
      { authorization: `Bearer ${token}` },
    );
    partnerKey = created.body.data!.createApiKey.key;
  });
  afterAll(async () => {
    for (const socket of sockets) await socket.dispose();
    await platform?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('regression: an APQ hash the gateway has not seen answers PERSISTED_QUERY_NOT_FOUND (not BAD_REQUEST), then works once registered, over POST and GET', async () => {
    const query = 'query Apq { models { id } }';
    const extensions = { persistedQuery: { version: 1, sha256Hash: sha256(query) } };
    const miss = await send('POST', { extensions });
    expect(miss.errors?.[0]).toMatchObject({ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } });
    const registered = await send('POST', { query, extensions });
    expect(registered.errors).toBeUndefined();
    expect((await send('POST', { extensions })).data).toEqual(registered.data);
    expect((await send('GET', { extensions })).data).toEqual(registered.data);
  });

  it('refuses an APQ hash that is not the hash of the query sent with it', async () => {
    const answer = await send('POST', { query: '{ models { id } }', extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ __typename }') } } });
    expect(answer.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const replay = await send('POST', { extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ __typename }') } } });
    expect(replay.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('a GET of a persisted query is publicly cacheable for anonymous callers, never for credentialed ones', async () => {
    const url = new URL(platform.gatewayUrl);
    url.searchParams.set('documentId', idOf('Models'));
    const anonymous = await fetch(url, { headers: { accept: 'application/json', ...PREFLIGHTED } });
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    const credentialed = await fetch(url, { headers: { accept: 'application/json', ...PREFLIGHTED, 'x-api-key': partnerKey } });
    expect(((await credentialed.json()) as Body).errors).toBeUndefined();
    expect(credentialed.headers.get('cache-control')).toBe('no-store');
  });

  it('Apollo Client PersistedQueryLink works unmodified: the first call misses and retries with the query, the next is hash-only', async () => {
    const sent: Array<{ query?: string }> = [];
    const recordingFetch: typeof fetch = async (input, init) => {
      sent.push(JSON.parse(String(init?.body)) as { query?: string });
      return fetch(input, init);
    };
    const link = new PersistedQueryLink({ sha256 }).concat(new HttpLink({ uri: platform.gatewayUrl, fetch: recordingFetch }));
    const client = new ApolloClient({ link, cache: new InMemoryCache() });
    const query = gql('query ApolloApq { models { id displayName } }');
    const first = await client.query({ query, fetchPolicy: 'network-only' });
    expect(first.error).toBeUndefined();
    expect(sent.map((body) => body.query === undefined)).toEqual([true, false]);
    const second = await client.query({ query, fetchPolicy: 'network-only' });
    expect(second.data).toEqual(first.data);
    expect(sent.length).toBe(3);
    expect(sent[2]!.query).toBeUndefined();
    client.stop();
  });

  it('urql persistedExchange works unmodified (hash-only over GET, with the CSRF rule\'s preflight header)', async () => {
    const client = createUrqlClient({
      url: platform.gatewayUrl,
      exchanges: [persistedExchange({ generateHash: async (query) => sha256(query) }), fetchExchange],
      fetchOptions: { headers: PREFLIGHTED },
    });
    const query = 'query UrqlApq { models { id } }';
    const first = await client.query(query, {}).toPromise();
    expect(first.error).toBeUndefined();
    const second = await client.query(query, {}, { requestPolicy: 'network-only' }).toPromise();
    expect(second.data).toEqual(first.data);
  });

  it('regression: a documentId from the manifest runs (it answered 400 before)', async () => {
    const answer = await send('POST', { documentId: idOf('Models') });
    expect(answer.errors).toBeUndefined();
    expect(Array.isArray(answer.data.models)).toBe(true);
    expect((await send('POST', { documentId: 'not-a-document' })).errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  for (const transport of TRANSPORTS) {
    it(`regression: a partner API key with a query outside the manifest is refused PERSISTED_QUERY_NOT_ALLOWED over ${transport}, and runs a manifest documentId`, async () => {
      const headers = { 'x-api-key': partnerKey };
      const refused = await send(transport, { query: NOT_IN_MANIFEST }, headers);
      expect(refused.data ?? null).toBeNull();
      expect(refused.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_ALLOWED');
      const allowed = await send(transport, { documentId: idOf('Me') }, headers);
      expect(allowed.errors).toBeUndefined();
      expect(allowed.data.me.email).toBe('partner@example.com');
    });
  }

  for (const transport of ['SSE', 'Apollo multipart', 'graphql-ws'] as const) {
    it(`regression: a partner API key's ad-hoc subscription is refused PERSISTED_QUERY_NOT_ALLOWED over ${transport}`, async () => {
      const refused = await send(transport, { query: 'subscription Adhoc { usageLive { requests } }' }, { 'x-api-key': partnerKey });
      expect(refused.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_ALLOWED');
    });
  }

  it('a first-party token and an anonymous caller may still run arbitrary operations (the defaults)', async () => {
    expect((await send('POST', { query: NOT_IN_MANIFEST })).errors).toBeUndefined();
  });

  it('reloads the manifest without a restart when its file changes', async () => {
    const query = 'query Added { models { displayName } }';
    const id = sha256(query);
    const updated: PersistedQueryManifest = { ...manifest, operations: [...manifest.operations, { id, name: 'Added', type: 'query' as never, body: query }] };
    expect((await send('POST', { documentId: id })).errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    await writeFile(`${manifestFile}.tmp`, JSON.stringify(updated));
    await rename(`${manifestFile}.tmp`, manifestFile);
    const deadline = Date.now() + 30_000;
    let answer = await send('POST', { documentId: id }, { 'x-api-key': partnerKey });
    while (answer.errors && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      answer = await send('POST', { documentId: id }, { 'x-api-key': partnerKey });
    }
    expect(answer.errors).toBeUndefined();
    expect(Array.isArray(answer.data.models)).toBe(true);
  });
});
