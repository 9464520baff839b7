import type { ExecutionResult } from 'graphql';
import { createSchema, createYoga, isAsyncIterable, type Plugin } from 'graphql-yoga';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { anonymousPrincipal, type Principal } from '../../lib/auth/principal.js';
import { readAuthorizationRequirements } from '../authorization/requirements.js';
import { useAuthDirectives } from '../authorization/use-auth-directives.js';
import { linkedDirectiveNameIn } from '../engine/supergraph-links.js';
import { useBufferedJsonResponse } from '../plugins/use-buffered-json-response.js';
import { useInboundDeduplication } from './use-inbound-deduplication.js';

// The plugin in a plain Yoga server over a local schema (graphql-js executes it), between the
// authorization plugin, which completes shared data per request, and a plugin standing in for
// the per-request ones (cost, request ids) that put something of their own into each result,
// and with the gateway's byte serialiser, which must keep the shared serialisation.

const sdl = /* GraphQL */ `
  schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY) {
    query: Query
  }
  directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
  scalar link__Import
  enum link__Purpose { SECURITY EXECUTION }
  directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM

  type Query { items: [Item!]! }
  interface Item { id: ID! }
  type Plain implements Item { id: ID! label: String }
  type Secret implements Item { id: ID! code: String @authenticated }
`;

let executions = 0;
let release: () => void = () => {};
let gate: Promise<void> = Promise.resolve();
const closeGate = () => {
  gate = new Promise((resolve) => (release = resolve));
};

const registry = new Registry();
const perRequest: Plugin = {
  onExecute({ args }) {
    const request = (args.contextValue as { request: Request }).request.headers.get('x-test-request');
    return { onExecuteDone: ({ result, setResult }) => void (!isAsyncIterable(result) && setResult({ ...result, extensions: { ...result.extensions, request } })) };
  },
};
const principal: Plugin<{ principal: Principal }> = {
  onContextBuilding({ extendContext }) {
    extendContext({ principal: anonymousPrincipal(null) });
  },
};
const yoga = createYoga({
  logging: false,
  schema: createSchema({
    typeDefs: sdl,
    resolvers: {
      Query: {
        items: async () => {
          executions++;
          await gate;
          return [
            { __typename: 'Plain', id: '1', label: 'one' },
            { __typename: 'Secret', id: '2', code: 'c2' },
          ];
        },
      },
      Item: { __resolveType: (item: { __typename: string }) => item.__typename },
    },
  }),
  plugins: [
    principal,
    useAuthDirectives(readAuthorizationRequirements(sdl, linkedDirectiveNameIn(sdl))),
    perRequest,
    useBufferedJsonResponse(),
    useInboundDeduplication(registry),
  ],
});

const QUERY = '{ items { id ... on Plain { label } ... on Secret { code } } }';

async function post(request: string, query = QUERY): Promise<string> {
  const response = await yoga.fetch('http://yoga/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-test-request': request },
    body: JSON.stringify({ query }),
  });
  return response.text();
}

const shared = async () => (await registry.getSingleMetric('lotabots_inbound_requests_shared_total')!.get()).values[0]?.value ?? 0;

describe('useInboundDeduplication', () => {
  afterEach(() => {
    release();
  });

  it('executes identical concurrent queries once; each answer is the one an unshared request gets, with its own extensions', async () => {
    const alone = JSON.parse(await post('alone')) as ExecutionResult;
    expect(alone.data).toEqual({ items: [{ id: '1', label: 'one' }, { id: '2', code: null }] });
    expect(alone.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([[['items', 'code'], 'UNAUTHENTICATED']]);

    closeGate();
    const before = { executions, shared: await shared() };
    const first = post('a');
    await vi.waitFor(() => expect(executions).toBe(before.executions + 1));
    const others = [post('b'), post('c')];
    await vi.waitFor(async () => expect(await shared()).toBe(before.shared + 2));
    release();
    const texts = await Promise.all([first, ...others]);
    expect(executions).toBe(before.executions + 1);
    // Byte for byte what the request alone got, but for the extension each request put in.
    const expected = (request: string) => JSON.stringify({ ...alone, extensions: { request } });
    expect(texts).toEqual([expected('a'), expected('b'), expected('c')]);
  });

  it('serialises the shared data once for all the requests sharing it', async () => {
    // Nothing here for authorization to null, so every request keeps the executed data as is.
    const query = '{ items { id ... on Plain { label } } }';
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      closeGate();
      const before = { executions, shared: await shared() };
      const first = post('a', query);
      await vi.waitFor(() => expect(executions).toBe(before.executions + 1));
      const others = [post('b', query), post('c', query)];
      await vi.waitFor(async () => expect(await shared()).toBe(before.shared + 2));
      stringify.mockClear();
      release();
      const texts = await Promise.all([first, ...others]);
      const ofData = stringify.mock.calls.filter(([value]) => typeof value === 'object' && value !== null && ('items' in value || 'data' in value));
      expect(ofData).toEqual([[{ items: [{ id: '1', label: 'one' }, { id: '2' }] }]]);
      const data = { items: [{ id: '1', label: 'one' }, { id: '2' }] };
      expect(texts).toEqual(['a', 'b', 'c'].map((request) => JSON.stringify({ data, extensions: { request } })));
    } finally {
      stringify.mockRestore();
    }
  });

  it('leaves different queries, and queries one after another, to execute on their own', async () => {
    closeGate();
    const before = { executions, shared: await shared() };
    const both = Promise.all([post('a'), post('b', '{ items { id } }')]);
    await vi.waitFor(() => expect(executions).toBe(before.executions + 2));
    release();
    await both;
    await post('c');
    expect(executions).toBe(before.executions + 3);
    expect(await shared()).toBe(before.shared);
  });
});
