import type { ExecutionResult } from 'graphql';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';

import { useBufferedJsonResponse } from './use-buffered-json-response.js';

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query { greeting(name: String!): String!, failing: String }
    type Subscription { ticks: Int! }
  `,
  resolvers: {
    Query: {
      greeting: (_: unknown, { name }: { name: string }) => `héllo ${name} ✓`,
      failing: () => {
        throw new Error('boom');
      },
    },
    Subscription: {
      ticks: {
        async *subscribe() {
          yield { ticks: 1 };
        },
      },
    },
  },
});

const serve = (plugins: Plugin[]) => createYoga({ schema, logging: false, maskedErrors: false, plugins });

async function answer(plugins: Plugin[], body: unknown, accept?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(accept ? { accept } : {}) };
  const response = await serve(plugins).fetch('http://gateway/graphql', { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: response.status, headers: [...response.headers].filter(([name]) => name !== 'date'), body: Buffer.from(await response.arrayBuffer()) };
}

describe('useBufferedJsonResponse', () => {
  it('sends the same status, headers and bytes as Yoga alone, for data, errors and streams', async () => {
    const requests: [unknown, string?][] = [
      [{ query: '{ greeting(name: "ünï") }' }],
      [{ query: '{ greeting(name: "x") failing }' }, 'application/graphql-response+json'],
      [{ query: '{ nope }' }, 'application/graphql-response+json'],
      [{ query: 'query($n: String!) { greeting(name: $n) }', variables: {} }],
      [{ query: 'subscription { ticks }' }, 'text/event-stream'],
    ];
    for (const [body, accept] of requests) {
      const plain = await answer([], body, accept);
      expect(await answer([useBufferedJsonResponse()], body, accept), JSON.stringify(body)).toEqual(plain);
      if (accept !== 'text/event-stream') expect(plain.headers).toContainEqual(['content-length', String(plain.body.length)]);
    }
  });

  it("keeps a result's own serialiser, sending what it returns as bytes", async () => {
    const own = (result: unknown) => JSON.stringify(result).replace('héllo', 'hi');
    const withOwn: Plugin = { onExecute: () => ({ onExecuteDone: ({ result, setResult }) => setResult({ ...(result as ExecutionResult), stringify: own } as ExecutionResult) }) };
    const body = { query: '{ greeting(name: "ünï") }' };
    const plain = await answer([withOwn], body);
    expect(plain.body.toString()).toBe('{"data":{"greeting":"hi ünï ✓"}}');
    expect(await answer([withOwn, useBufferedJsonResponse()], body)).toEqual(plain);
  });
});
