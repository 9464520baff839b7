import { request as httpRequest } from 'node:http';

import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { loadGatewayConfig } from '../gateway/config.js';
import { createIdentitySigner, IDENTITY_HEADER } from '../lib/auth/identity-header.js';
import { anonymousPrincipal } from '../lib/auth/principal.js';
import { systemClock } from '../lib/clock.js';
import { createAutonomySubgraph } from '../subgraphs/autonomy/server.js';
import { type AdHocGateway, type AdHocSubgraph, startAdHocGateway, startAdHocSubgraph } from './gateway-kit.js';
import { startTestPlatform, type TestPlatform, withCost } from './kit.js';

const APP_ORIGIN = 'https://app.example.test';
const INTROSPECTION = '{ __schema { types { name } } }';
const MISSPELLED = '{ me { idd } }';
const LOGOUT = 'mutation { logout(refreshToken: "rt_unknown") }';
const MiB = 1024 * 1024;

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Body bytes the client had written when the answer came. */
  written: number;
}

/**
 * Sends a request with node:http, writing `chunks` of the body one by one with backpressure
 * and stopping as soon as the answer arrives; the server may close the connection under
 * the upload (EPIPE, ECONNRESET), which is not a failure once the answer is in.
 */
function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; chunks?: Iterable<Buffer>; keepOpen?: boolean },
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const request = httpRequest(url, { method: options.method ?? 'POST', headers: options.headers }, (response) => {
      answered = true;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body, written }));
      response.on('error', reject);
    });
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    const chunks = (options.chunks ?? [])[Symbol.iterator]();
    const pump = () => {
      for (;;) {
        if (answered) return;
        const next = chunks.next();
        if (next.done) {
          if (!options.keepOpen) request.end();
          return;
        }
        written += next.value.length;
        if (!request.write(next.value)) return void request.once('drain', pump);
      }
    };
    if (options.keepOpen) request.flushHeaders();
    pump();
  });
}

function* repeat(chunk: Buffer, totalBytes: number) {
  for (let sent = 0; sent < totalBytes; sent += chunk.length) yield chunk;
}

const graphqlOver = (contentType: string, body: string, extra: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': contentType, accept: 'application/json', ...extra },
  body,
});

const multipartBody = (boundary: string, operations: object) =>
  `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify(operations)}\r\n` +
  `--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{}\r\n--${boundary}--\r\n`;

describe('safe defaults of a production gateway', () => {
  let platform: TestPlatform;
  let adminToken: string;
  let userToken: string;

  beforeAll(async () => {
    platform = await startTestPlatform({
      gatewayEnv: { NODE_ENV: 'production', CORS_ORIGINS: APP_ORIGIN, HSTS_MAX_AGE_SECONDS: '31536000' },
    });
    adminToken = await platform.tokenFor('00000000-0000-4000-8000-000000000001', { roles: ['admin'] });
    userToken = await platform.tokenFor('00000000-0000-4000-8000-000000000002');
  });
  afterAll(() => platform?.stop());

  describe('CORS', () => {
    it('regression: a foreign origin was reflected with credentials; now it gets no CORS header at all', async () => {
      const answer = await fetch(platform.gatewayUrl, {
        ...graphqlOver('application/json', JSON.stringify({ query: '{ __typename }' })),
        headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('access-control-allow-origin')).toBeNull();
      expect(answer.headers.get('access-control-allow-credentials')).toBeNull();

      const preflight = await fetch(platform.gatewayUrl, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
      expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
    });

    it('answers an origin in CORS_ORIGINS, without credentials and without echoing the requested headers', async () => {
      const preflight = await fetch(platform.gatewayUrl, {
        method: 'OPTIONS',
        headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': `content-type, x-${'a'.repeat(4000)}` },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
      expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type, authorization, x-api-key, apollo-require-preflight, x-apollo-operation-name');
      expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();

      const answer = await fetch(platform.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: APP_ORIGIN },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(answer.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
      expect(answer.headers.get('vary')).toContain('Origin');
      expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
    });
  });

  describe('CSRF prevention', () => {
    const form = () => graphqlOver('application/x-www-form-urlencoded', new URLSearchParams({ query: LOGOUT }).toString());
    const simpleRequests: Array<[string, () => RequestInit]> = [
      ['application/x-www-form-urlencoded', form],
      ['multipart/form-data', () => graphqlOver('multipart/form-data; boundary=xyz', multipartBody('xyz', { query: LOGOUT }))],
      ['text/plain', () => graphqlOver('text/plain;charset=UTF-8', JSON.stringify({ query: LOGOUT }))],
    ];

    it.each(simpleRequests)('regression: form and multipart mutations ran without a preflight; now %s without a preflight-forcing header gets 400 BAD_REQUEST', async (_type, init) => {
      const answer = await fetch(platform.gatewayUrl, init());
      expect(answer.status).toBe(400);
      const body = (await answer.json()) as { data?: unknown; errors: Array<{ message: string; extensions: { code: string } }> };
      expect(body.data).toBeUndefined();
      expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
      expect(body.errors[0]!.message).toMatch(/cross-site request forgery/);
    });

    it('runs the same form mutation once it carries apollo-require-preflight, and JSON without any header', async () => {
      const init = form();
      const withHeader = await fetch(platform.gatewayUrl, { ...init, headers: { ...(init.headers as Record<string, string>), 'apollo-require-preflight': 'true' } });
      expect(withHeader.status).toBe(200);
      expect(await withHeader.json()).toMatchObject({ data: { logout: true } });
      expect(await platform.query(LOGOUT)).toMatchObject({ status: 200, body: { data: { logout: true } } });
    });

    it('refuses a query sent as a plain GET, and answers it with x-apollo-operation-name', async () => {
      const url = `${platform.gatewayUrl}?query=${encodeURIComponent('query Q { __typename }')}`;
      const plain = await fetch(url, { headers: { accept: 'application/json' } });
      expect(plain.status).toBe(400);
      expect(await plain.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
      const preflighted = await fetch(url, { headers: { accept: 'application/json', 'x-apollo-operation-name': 'Q' } });
      expect(preflighted.status).toBe(200);
      expect(await preflighted.json()).toEqual(withCost({ data: { __typename: 'Query' } }));
    });
  });

  describe('introspection and suggestions in production', () => {
    it('regression: anyone could introspect the production schema; now anonymous and plain users get GRAPHQL_VALIDATION_FAILED', async () => {
      for (const headers of [{}, { authorization: `Bearer ${userToken}` }] as Array<Record<string, string>>) {
        const { status, body } = await platform.query(INTROSPECTION, undefined, headers);
        expect(status).toBe(400);
        expect(body.data).toBeUndefined();
        expect(body.errors).toEqual([{ message: expect.stringMatching(/introspection has been disabled/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED', requestId: expect.any(String) } }]);
      }
      expect(await platform.query('{ __typename }')).toMatchObject({ status: 200, body: { data: { __typename: 'Query' } } });
    });

    it('lets an admin (scope schema:read) introspect', async () => {
      const { status, body } = await platform.query(INTROSPECTION, undefined, { authorization: `Bearer ${adminToken}` });
      expect(status).toBe(200);
      expect(body.data!.__schema.types.map((t: { name: string }) => t.name)).toContain('User');
    });

    it('regression: a misspelled field was answered with "Did you mean"; now the error names no schema field', async () => {
      const { status, body } = await platform.query(MISSPELLED, undefined, { authorization: `Bearer ${userToken}` });
      expect(status).toBe(400);
      expect(body.errors).toEqual([{ message: 'Cannot query field "idd" on type "User".', locations: [{ line: 1, column: 8 }], extensions: { code: 'GRAPHQL_VALIDATION_FAILED', requestId: expect.any(String) } }]);
    });

    it('gives no "Did you mean" over WebSocket either', async () => {
      const client = createClient({ url: platform.gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      try {
        const results: unknown[] = [];
        const failure = await new Promise<unknown>((resolve) => {
          client.subscribe({ query: '{ modls { id } }' }, { next: (r) => results.push(r), error: resolve, complete: () => resolve(null) });
        });
        expect(JSON.stringify([failure, results])).toContain('Cannot query field \\"modls\\" on type \\"Query\\".');
        expect(JSON.stringify([failure, results])).not.toMatch(/Did you mean/);
      } finally {
        await client.dispose();
      }
    });
  });

  describe('security headers', () => {
    it('regression: responses had no security headers; now every one has them, and credentialed answers are no-store', async () => {
      const anonymous = await fetch(platform.gatewayUrl, graphqlOver('application/json', JSON.stringify({ query: '{ __typename }' })));
      const signedIn = await fetch(platform.gatewayUrl, graphqlOver('application/json', JSON.stringify({ query: '{ me { id } }' }), { authorization: `Bearer ${userToken}` }));
      const health = await fetch(platform.gatewayUrl.replace(/\/graphql$/, '/health'));
      for (const answer of [anonymous, signedIn, health]) {
        expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
        expect(answer.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
        expect(answer.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
        expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
      }
      expect(signedIn.headers.get('cache-control')).toBe('no-store');
      expect(anonymous.headers.get('cache-control')).toBeNull();
    });

    it('keeps the dashboard page framed by nobody', async () => {
      const page = await fetch(platform.gatewayUrl.replace(/\/graphql$/, '/dashboard'));
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('regression: an 8,003-byte Accept header was echoed into a 406 with 291 KiB of headers', async () => {
      const accept = Array.from({ length: 1000 }, (_, i) => `application/x-${i}`).join(',').slice(0, 8003);
      const answer = await rawRequest(platform.gatewayUrl, {
        headers: { 'content-type': 'application/json', accept },
        chunks: [Buffer.from(JSON.stringify({ query: '{ __typename }' }))],
      });
      expect(answer.status).toBe(406);
      const headerBytes = Object.entries(answer.headers).reduce((sum, [name, value]) => sum + name.length + String(value).length, 0);
      expect(headerBytes).toBeLessThan(2048);
    });
  });

  describe('request body limit', () => {
    it('regression: a 20 MiB chunked POST was buffered whole; now 413 REQUEST_TOO_LARGE once 1 MiB is passed', async () => {
      const answer = await rawRequest(platform.gatewayUrl, {
        headers: { 'content-type': 'application/json' },
        chunks: repeat(Buffer.alloc(64 * 1024, 'a'), 20 * MiB),
      });
      expect(answer.status).toBe(413);
      expect(answer.headers.connection).toBe('close');
      expect(JSON.parse(answer.body)).toEqual({ errors: [{ message: 'The request body is larger than 1048576 bytes', extensions: { code: 'REQUEST_TOO_LARGE' } }] });
      // The gateway stopped reading: the client could not push the whole body through.
      expect(answer.written).toBeLessThan(20 * MiB);
    });

    it('refuses a Content-Length over the limit before a byte of the body is sent', async () => {
      const answer = await rawRequest(platform.gatewayUrl, {
        headers: { 'content-type': 'application/json', 'content-length': String(20 * MiB) },
        keepOpen: true,
      });
      expect(answer.status).toBe(413);
      expect(answer.written).toBe(0);
      expect(JSON.parse(answer.body)).toMatchObject({ errors: [{ extensions: { code: 'REQUEST_TOO_LARGE' } }] });
    });

    it('regression: a WebSocket message could be 100 MiB (ws default); now one over the limit closes the socket with 1009', async () => {
      const socket = new WebSocket(platform.gatewayUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
      const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
      socket.once('open', () => {
        socket.send(JSON.stringify({ type: 'connection_init' }));
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `{ __typename } # ${'x'.repeat(2 * MiB)}` } }));
      });
      expect(await closed).toBe(1009);
    });

    it('still accepts a chunked body under the limit', async () => {
      const answer = await rawRequest(platform.gatewayUrl, {
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        chunks: [Buffer.from('{"query":'), Buffer.from('"{ __typename }"}')],
      });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual(withCost({ data: { __typename: 'Query' } }));
    });
  });

  describe('subgraphs', () => {
    it('regression: a subgraph validated (with "Did you mean") before checking the identity header; now 401 first', async () => {
      const answer = await fetch(platform.subgraphUrls.users, graphqlOver('application/json', JSON.stringify({ query: MISSPELLED })));
      expect(answer.status).toBe(401);
      const text = await answer.text();
      expect(text).not.toMatch(/Did you mean|idd/);
      expect(JSON.parse(text)).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
    });

    it('in production hide introspection and suggestions, and still answer __typename', async () => {
      const identity = createIdentitySigner(platform.secrets.identitySecret);
      const subgraph = createAutonomySubgraph({ db: platform.db, redis: platform.redis, logger: platform.logger, clock: systemClock, identity, production: true });
      const ask = async (query: string) => {
        const answer = await subgraph.yoga.fetch('http://subgraph/graphql', graphqlOver('application/json', JSON.stringify({ query }), { [IDENTITY_HEADER]: await identity.sign(anonymousPrincipal(null)) }));
        return { status: answer.status, body: (await answer.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> } };
      };
      try {
        expect((await ask(INTROSPECTION)).body).toEqual({ errors: [{ message: expect.stringMatching(/introspection has been disabled/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
        const misspelled = await ask('{ autonomyLevelz { level } }');
        expect(misspelled.body.errors![0]!.message).toBe('Cannot query field "autonomyLevelz" on type "Query".');
        expect(await ask('{ __typename }')).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
      } finally {
        await subgraph.close();
      }
    });
  });
});

describe('introspection and suggestions by configuration', () => {
  let subgraph: AdHocSubgraph;
  const gateways: AdHocGateway[] = [];

  beforeAll(async () => {
    subgraph = await startAdHocSubgraph('things', 'type Query { thing: String }', { Query: { thing: () => 'x' } });
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.close();
    await subgraph?.close();
  });

  const ask = async (gateway: AdHocGateway, query: string) => {
    const answer = await fetch(gateway.url, graphqlOver('application/json', JSON.stringify({ query })));
    return (await answer.json()) as { data?: Record<string, any>; errors?: Array<{ message: string }> };
  };

  it('outside production, introspection (for GraphiQL) and suggestions are on', async () => {
    const gateway = await startAdHocGateway([subgraph]);
    gateways.push(gateway);
    expect((await ask(gateway, INTROSPECTION)).data!.__schema.types.length).toBeGreaterThan(0);
    expect((await ask(gateway, '{ thng }')).errors![0]!.message).toBe('Cannot query field "thng" on type "Query". Did you mean "thing"?');
  });

  it('in production, INTROSPECTION=true and GRAPHQL_SUGGESTIONS=true turn them back on', async () => {
    const gateway = await startAdHocGateway([subgraph], { NODE_ENV: 'production', INTROSPECTION: 'true', GRAPHQL_SUGGESTIONS: 'true' });
    gateways.push(gateway);
    expect((await ask(gateway, INTROSPECTION)).data!.__schema.types.length).toBeGreaterThan(0);
    expect((await ask(gateway, '{ thng }')).errors![0]!.message).toMatch(/Did you mean "thing"\?/);
  });

  it('CORS_ORIGINS=* answers every origin with a literal *, never with credentials', async () => {
    const gateway = await startAdHocGateway([subgraph], { CORS_ORIGINS: '*' });
    gateways.push(gateway);
    const answer = await fetch(gateway.url, { ...graphqlOver('application/json', JSON.stringify({ query: '{ thing }' })), headers: { 'content-type': 'application/json', origin: 'https://anyone.example' } });
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
    expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
    expect(answer.headers.get('vary')).toBeNull();
  });
});

describe('safe-default settings are checked at start-up', () => {
  it('accepts exact origins or * alone in CORS_ORIGINS, and nothing else', () => {
    expect(loadGatewayConfig({ CORS_ORIGINS: 'https://a.example, http://localhost:5173' }).CORS_ORIGINS).toEqual(['https://a.example', 'http://localhost:5173']);
    expect(loadGatewayConfig({}).CORS_ORIGINS).toEqual([]);
    expect(() => loadGatewayConfig({ CORS_ORIGINS: '*,https://a.example' })).toThrow(/^invalid configuration: CORS_ORIGINS: "\*" allows every origin/);
    expect(() => loadGatewayConfig({ CORS_ORIGINS: 'https://a.example/' })).toThrow(/^invalid configuration: CORS_ORIGINS: expected origins like/);
    expect(() => loadGatewayConfig({ CORS_ORIGINS: 'a.example' })).toThrow(/CORS_ORIGINS/);
  });

  it('leaves INTROSPECTION and GRAPHQL_SUGGESTIONS to NODE_ENV unless set, and refuses other values', () => {
    const defaults = loadGatewayConfig({});
    expect([defaults.INTROSPECTION, defaults.GRAPHQL_SUGGESTIONS]).toEqual([undefined, undefined]);
    expect(defaults).toMatchObject({ MAX_REQUEST_BODY_BYTES: 1_048_576, HSTS_MAX_AGE_SECONDS: 0 });
    expect(loadGatewayConfig({ INTROSPECTION: 'false', GRAPHQL_SUGGESTIONS: 'true' })).toMatchObject({ INTROSPECTION: false, GRAPHQL_SUGGESTIONS: true });
    expect(() => loadGatewayConfig({ INTROSPECTION: 'yes please' })).toThrow(/^invalid configuration: INTROSPECTION/);
  });
});
