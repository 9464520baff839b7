import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { createIdentitySigner, IDENTITY_HEADER } from '../lib/auth/identity-header.js';
import { anonymousPrincipal } from '../lib/auth/principal.js';
import { ERROR_CODES } from '../lib/errors.js';
import { postGraphQL, startTestPlatform, type TestPlatform } from './kit.js';

const ACCEPTS = ['application/json', 'application/graphql-response+json'] as const;
const CATALOGUE = Object.keys(ERROR_CODES);
/** No response header may be larger than this (the 406 once echoed a client's Accept header into 291 KiB). */
const MAX_HEADER_BYTES = 1024;
const WRONG_VARIABLE = { query: 'query V($s: String!) { __type(name: $s) { name } }', variables: { s: 7 } };

const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const raw = (body: string, contentType = 'application/json') => ({ method: 'POST', headers: { 'content-type': contentType }, body });
const deep = (levels: number) => `{ ${'__type(name: "Query") { ofType { '.repeat(levels)} name ${'} '.repeat(levels * 2)}}`;
/** Every error answered over HTTP names its request (gateway/access-log/); graphql-ws errors carry none. */
const REQUEST_ID = expect.any(String) as unknown as string;

/** Requests that partners, codegen mistakes and hostile callers send; each must be answered as a client error. */
const HOSTILE: Record<string, { path?: string; method: string; headers?: Record<string, string>; body?: string }> = {
  'invalid JSON `{`': raw('{'),
  'truncated JSON': raw('{"query":"{ __typename }"'),
  'an empty body': raw(''),
  'JSON null': raw('null'),
  'a JSON string': raw('"{ __typename }"'),
  'a JSON number': raw('42'),
  'JSON with a trailing comma': raw('{"query":"{ __typename }",}'),
  'invalid UTF-8': raw('{"query":"\udc00"}'),
  'a wrongly typed variable': json(WRONG_VARIABLE),
  'a missing required variable': json({ query: WRONG_VARIABLE.query }),
  'a null required variable': json({ query: WRONG_VARIABLE.query, variables: { s: null } }),
  'an input object with wrong and missing fields': json({
    query: 'mutation R($i: RegisterInput!) { register(input: $i) { accessToken } }',
    variables: { i: { email: 3, extra: true } },
  }),
  'a list where a scalar is declared': json({ query: WRONG_VARIABLE.query, variables: { s: ['a', 'b'] } }),
  'an Int variable out of range': json({ query: 'query M($n: Int!) { me { inferenceJobs(first: $n) { id } } }', variables: { n: 2 ** 40 } }),
  'unknown extra variables': json({ query: '{ __typename }', variables: { nobody: { asked: 1 } } }),
  'variables as a string': json({ query: '{ __typename }', variables: 'x' }),
  'a batch (array of operations)': json([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
  'an empty batch': json([]),
  'a null query': json({ query: null }),
  'a numeric query': json({ query: 5 }),
  'no query at all': json({ variables: {} }),
  'an empty query': json({ query: '' }),
  'an unknown operationName': json({ query: 'query A { __typename }', operationName: 'B' }),
  'two operations without operationName': json({ query: 'query A { __typename } query B { __typename }' }),
  'a numeric operationName': json({ query: '{ __typename }', operationName: 7 }),
  'extensions as a number': json({ query: '{ __typename }', extensions: 5 }),
  'a huge extensions object': json({ query: '{ __typename }', extensions: { junk: 'x'.repeat(200_000) } }),
  'an unknown persisted query hash': json({ extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } }),
  'a malformed persisted query': json({ extensions: { persistedQuery: { version: 'x', sha256Hash: 1 } } }),
  'a syntax error': json({ query: '{ __typename' }),
  'an unknown field': json({ query: '{ nothingHere }' }),
  'a fragment cycle': json({ query: '{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }' }),
  'nesting 2,000 levels deep': json({ query: deep(2_000) }),
  'nesting 10,000 levels deep': json({ query: `{ a(x: ${'['.repeat(10_000)}${']'.repeat(10_000)}) }` }),
  'a mutation over GET': { method: 'GET', path: `?query=${encodeURIComponent('mutation { logout(refreshToken: "x") }')}`, headers: { 'apollo-require-preflight': 'true' } },
  'GET without a query': { method: 'GET', path: '?variables=%7B', headers: { 'apollo-require-preflight': 'true' } },
  'GET with invalid variables JSON': { method: 'GET', path: '?query=%7B__typename%7D&variables=%7B', headers: { 'apollo-require-preflight': 'true' } },
  'GET with invalid extensions JSON': { method: 'GET', path: '?query=%7B__typename%7D&extensions=%5B', headers: { 'apollo-require-preflight': 'true' } },
  'a preflighted form post with invalid variables JSON': {
    ...raw('query=%7B__typename%7D&variables=%7B', 'application/x-www-form-urlencoded'),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'apollo-require-preflight': 'true' },
  },
  PUT: { ...json({ query: '{ __typename }' }), method: 'PUT' },
  DELETE: { method: 'DELETE' },
  PATCH: { ...json({ query: '{ __typename }' }), method: 'PATCH' },
  'text/plain (a CSRF attempt)': raw('{"query":"{ __typename }"}', 'text/plain'),
  'a form post': raw('query=%7B__typename%7D', 'application/x-www-form-urlencoded'),
  'application/xml': raw('<query/>', 'application/xml'),
  'no content type': { method: 'POST', body: '{"query":"{ __typename }"}' },
  'a bad bearer token': { ...json({ query: '{ __typename }' }), headers: { 'content-type': 'application/json', authorization: 'Bearer not.a.jwt' } },
  'an 8 KB Accept header': { ...json({ query: '{ __typename }' }), headers: { 'content-type': 'application/json', accept: 'application/x-y,'.repeat(500) } },
};

/** Every error object anywhere in a response body (a result, or a list of them). */
const errorsIn = (body: unknown): Array<{ extensions?: { code?: unknown } }> =>
  (Array.isArray(body) ? body : [body]).flatMap((result) => (result as { errors?: [] } | null)?.errors ?? []);

describe('what clients see: every error has a catalogue code and no internals', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform();
  });
  afterAll(() => platform?.stop());

  for (const accept of ACCEPTS) {
    it(`regression: a hostile corpus answers 4xx or 200 with catalogue codes, never internals (Accept: ${accept})`, async () => {
      const findings: string[] = [];
      for (const [name, { path = '', headers = {}, ...init }] of Object.entries(HOSTILE)) {
        const response = await fetch(platform.gatewayUrl + path, { ...init, headers: { accept, ...headers } });
        const text = await response.text();
        if (response.status >= 500) findings.push(`${name}: HTTP ${response.status}`);
        if (/originalError|stacktrace|"stack"|SyntaxError|at position \d/.test(text)) findings.push(`${name}: internals in ${text.slice(0, 300)}`);
        for (const [header, value] of response.headers) {
          if (header.length + value.length > MAX_HEADER_BYTES) findings.push(`${name}: ${header} is ${value.length} bytes`);
        }
        let body: unknown = null;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          findings.push(`${name}: a body that is not JSON: ${text.slice(0, 100)}`);
        }
        const codes = errorsIn(body).map((error) => error.extensions?.code);
        // 406 and 415 have no body: the client reads none of our media types, or sent one we do not read.
        if (response.status >= 400 && ![406, 415].includes(response.status) && codes.length === 0) findings.push(`${name}: HTTP ${response.status} without an error`);
        for (const code of codes) if (!CATALOGUE.includes(String(code))) findings.push(`${name}: code ${String(code)} is not in the catalogue`);
        // Every request here is the client's mistake, so none may look like ours.
        if (codes.includes('INTERNAL_SERVER_ERROR')) findings.push(`${name}: INTERNAL_SERVER_ERROR`);
      }
      expect(findings).toEqual([]);
    });
  }

  it.each(ACCEPTS)('regression: a wrongly typed variable was 200 INTERNAL_SERVER_ERROR "Unexpected error."; now 400 BAD_USER_INPUT (Accept: %s)', async (accept) => {
    const { status, body } = await postGraphQL(platform.gatewayUrl, WRONG_VARIABLE.query, WRONG_VARIABLE.variables, { accept });
    expect(status).toBe(400);
    expect(body.errors).toEqual([expect.objectContaining({ message: expect.stringContaining('Variable "$s" got invalid value 7'), extensions: { code: 'BAD_USER_INPUT', requestId: REQUEST_ID } })]);
    expect(body).not.toHaveProperty('data');
  });

  it.each(ACCEPTS)('regression: a missing required variable had no extensions.code; now 400 BAD_USER_INPUT (Accept: %s)', async (accept) => {
    const { status, body } = await postGraphQL(platform.gatewayUrl, WRONG_VARIABLE.query, undefined, { accept });
    expect(status).toBe(400);
    expect(body.errors).toEqual([expect.objectContaining({ message: 'Variable "$s" of required type "String!" was not provided.', extensions: { code: 'BAD_USER_INPUT', requestId: REQUEST_ID } })]);
  });

  it.each(ACCEPTS)('regression: invalid JSON leaked extensions.originalError (the SyntaxError and its position); now 400 BAD_REQUEST alone (Accept: %s)', async (accept) => {
    const response = await fetch(platform.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: '{' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ errors: [{ message: 'POST body sent invalid JSON.', extensions: { code: 'BAD_REQUEST', requestId: REQUEST_ID } }] });
  });

  it('regression: a GET with invalid variables JSON was INTERNAL_SERVER_ERROR (an uncaught SyntaxError); now 400 BAD_REQUEST', async () => {
    const response = await fetch(`${platform.gatewayUrl}?query=%7B__typename%7D&variables=%7B`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ errors: [{ message: 'The variables or extensions parameter is not valid JSON.', extensions: { code: 'BAD_REQUEST', requestId: REQUEST_ID } }] });
  });

  it('regression: an unknown operationName had a code outside the catalogue; OPERATION_RESOLUTION_FAILURE is in it now, with 400', async () => {
    expect(CATALOGUE).toContain('OPERATION_RESOLUTION_FAILURE');
    const response = await fetch(platform.gatewayUrl, json({ query: 'query A { __typename }', operationName: 'B' }));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } }] });
  });

  it('regression: Apollo Client got INTERNAL_SERVER_ERROR for a wrongly typed variable; now BAD_USER_INPUT', async () => {
    const client = new ApolloClient({ link: new HttpLink({ uri: platform.gatewayUrl }), cache: new InMemoryCache() });
    const outcome = await client.query({ query: gql(WRONG_VARIABLE.query), variables: WRONG_VARIABLE.variables }).catch((error: unknown) => error);
    const errors = (outcome as { error?: { errors?: unknown[] }; errors?: unknown[] }).error?.errors ?? (outcome as { errors?: unknown[] }).errors;
    expect(errors).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', requestId: REQUEST_ID } })]);
  });

  it('regression: a wrongly typed variable was INTERNAL_SERVER_ERROR over graphql-ws and SSE too; now BAD_USER_INPUT', async () => {
    const ws = createWsClient({ url: platform.gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      // graphql-ws delivers request errors as its error message: the client throws them.
      const errors = await (async () => {
        for await (const result of ws.iterate(WRONG_VARIABLE)) return result.errors;
      })().catch((thrown: unknown) => thrown);
      expect(errors).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } })]);
    } finally {
      await ws.dispose();
    }
    // Over SSE a request error is HTTP 400, as graphql-sse's own server answers it, with the error in the stream.
    const sse = await fetch(platform.gatewayUrl, { ...json(WRONG_VARIABLE), headers: { 'content-type': 'application/json', accept: 'text/event-stream' } });
    expect(sse.status).toBe(400);
    const event = (await sse.text()).split('\n').find((line) => line.startsWith('data: '))!;
    expect(JSON.parse(event.slice('data: '.length)).errors).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', requestId: REQUEST_ID } })]);
  });

  it('regression: a subgraph answered its own variable coercion errors as INTERNAL_SERVER_ERROR; now BAD_USER_INPUT', async () => {
    const identity = await createIdentitySigner(platform.secrets.identitySecret).sign(anonymousPrincipal(null));
    for (const url of Object.values(platform.subgraphUrls)) {
      const { status, body } = await postGraphQL(url, WRONG_VARIABLE.query, WRONG_VARIABLE.variables, { [IDENTITY_HEADER]: identity });
      expect(status, url).toBeLessThan(500);
      expect(body.errors, url).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } })]);
    }
  });
});
