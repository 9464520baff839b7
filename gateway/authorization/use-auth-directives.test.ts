import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';

import { anonymousPrincipal, type Principal } from '../../lib/auth/principal.js';
import { linkedDirectiveNameIn } from '../engine/supergraph-links.js';
import { readAuthorizationRequirements } from './requirements.js';
import { useAuthDirectives } from './use-auth-directives.js';

// The plugin in a plain Yoga server over a local schema (graphql-js executes it), for what
// the federated gateway cannot run yet: subscriptions. The supergraph-shaped SDL is both the
// plugin's input and the served schema. Callers are set by a header, standing in for useAuth.

const sdl = /* GraphQL */ `
  schema
    @link(url: "https://specs.apollo.dev/link/v1.0")
    @link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)
    @link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY) {
    query: Query
    subscription: Subscription
  }
  directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
  scalar link__Import
  enum link__Purpose { SECURITY EXECUTION }
  directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
  directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM

  type Query { hello: String }
  type Subscription {
    ticks: Tick
    alarms: String @requiresScopes(scopes: [["alarms:read"]])
  }
  type Tick { n: Int secret: String @authenticated }
`;

const principalFromHeader: Plugin<{ principal: Principal }> = {
  onContextBuilding({ context, extendContext }) {
    const scopes = (context as unknown as { request: Request }).request.headers.get('x-test-scopes');
    const principal: Principal =
      scopes === null ? anonymousPrincipal(null) : { ...anonymousPrincipal(null), kind: 'user', userId: 'u1', subject: 'user:u1', scopes: scopes.split(' ').filter(Boolean) };
    extendContext({ principal });
  },
};

let subscribed = 0;
const yoga = createYoga({
  logging: false,
  schema: createSchema({
    typeDefs: sdl,
    resolvers: {
      Query: { hello: () => 'hi' },
      Subscription: {
        ticks: {
          async *subscribe() {
            subscribed++;
            for (let n = 1; n <= 2; n++) yield { ticks: { n, secret: `s${n}` } };
          },
        },
        alarms: {
          async *subscribe() {
            subscribed++;
            yield { alarms: 'fire' };
          },
        },
      },
    },
  }),
  plugins: [principalFromHeader, useAuthDirectives(readAuthorizationRequirements(sdl, linkedDirectiveNameIn(sdl)))],
});

async function subscribe(query: string, scopes?: string) {
  const response = await yoga.fetch('http://yoga/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(scopes === undefined ? {} : { 'x-test-scopes': scopes }) },
    body: JSON.stringify({ query }),
  });
  const text = await response.text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line !== 'data: ')
    .map((line) => JSON.parse(line.slice('data: '.length)) as { data?: unknown; errors?: Array<{ message: string; path?: string[]; extensions?: { code?: string } }> });
}

describe('useAuthDirectives with subscriptions', () => {
  it('filters each event: the removed field is null in every event, with its error', async () => {
    const events = await subscribe('subscription { ticks { n secret } }');
    expect(events.map((e) => e.data)).toEqual([{ ticks: { n: 1, secret: null } }, { ticks: { n: 2, secret: null } }]);
    expect(events.map((e) => e.errors?.map((error) => [error.path, error.extensions?.code]))).toEqual([
      [[['ticks', 'secret'], 'UNAUTHENTICATED']],
      [[['ticks', 'secret'], 'UNAUTHENTICATED']],
    ]);
  });

  it('passes a signed-in caller through untouched', async () => {
    const events = await subscribe('subscription { ticks { n secret } }', '');
    expect(events).toEqual([{ data: { ticks: { n: 1, secret: 's1' } } }, { data: { ticks: { n: 2, secret: 's2' } } }]);
  });

  it('never subscribes to a root field the caller may not use', async () => {
    const before = subscribed;
    const events = await subscribe('subscription { alarms }', 'other:scope');
    expect(events).toEqual([
      {
        data: { alarms: null },
        errors: [{ message: 'Unauthorized field or type: Subscription.alarms (requires scope alarms:read)', path: ['alarms'], extensions: { code: 'FORBIDDEN' } }],
      },
    ]);
    expect(subscribed).toBe(before);
    expect(await subscribe('subscription { alarms }', 'alarms:read')).toEqual([{ data: { alarms: 'fire' } }]);
  });
});
