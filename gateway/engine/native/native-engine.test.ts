import { type DocumentNode, type ExecutionResult, GraphQLError, parse, validate } from 'graphql';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { composeSupergraph } from '../../../lib/compose.js';
import { createLogger } from '../../../lib/logger.js';
import { type AdHocSubgraph, startAdHocSubgraph } from '../../../test/gateway-kit.js';
import { createUpstream } from '../../upstream/index.js';
import { createApolloEngine } from '../apollo-engine.js';
import type { GatewayEngine } from '../engine.js';
import { createNativeEngine } from './native-engine.js';

const FEDERATION = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])';

const catalogTypeDefs = `${FEDERATION}
  interface Item { id: ID! name: String }
  type Book implements Item @key(fields: "id") { id: ID! name: String pages: Int! }
  type Film implements Item @key(fields: "id") { id: ID! name: String minutes: Int }
  union Result = Book | Film
  type Query { items: [Item!]! search: [Result] book(id: ID!): Book shelf: [Book] picks: [Book] }
  type Subscription { bookAdded: Book }`;
const books = [
  { id: '1', name: 'Dune', pages: 412 },
  { id: '2', name: 'Emma', pages: 474 },
  { id: '3', name: 'Ulysses', pages: 730 },
];
const film = { id: 'f1', name: 'Alien', minutes: 117 };
const catalogResolvers = {
  Item: { __resolveType: (item: { pages?: number }) => (item.pages === undefined ? 'Film' : 'Book') },
  Result: { __resolveType: (item: { pages?: number }) => (item.pages === undefined ? 'Film' : 'Book') },
  Query: { items: () => [...books, film], search: () => [film, books[0]], book: (_: unknown, { id }: { id: string }) => books.find((b) => b.id === id), shelf: () => books, picks: () => [books[1], books[0], books[1]] },
  Subscription: { bookAdded: { subscribe: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => {}) }) }) } },
};

// Book 2's rating fails (an error at `_entities.N.rating`); book 3 is unknown here (a null entity, no error).
const reviewsTypeDefs = `${FEDERATION}
  type Book @key(fields: "id") { id: ID! rating: Int! reviews: [Review!]! }
  type Review { body: String! }`;
const reviewsResolvers = {
  Book: {
    __resolveReference: ({ id }: { id: string }) => (id === '3' ? null : { id }),
    rating: ({ id }: { id: string }) => {
      if (id === '2') throw new GraphQLError('rating service failed', { extensions: { code: 'RATING_FAILED' } });
      return Number(id) * 2;
    },
    reviews: ({ id }: { id: string }) => [{ body: `review of ${id}` }],
  },
};

// Never started: every fetch to it fails as a subgraph that is down.
const stockTypeDefs = `${FEDERATION}
  type Book @key(fields: "id") { id: ID! inStock: Boolean }`;

describe('native engine: plans interpreted on the subgraphs’ JSON, shaped like @apollo/gateway', () => {
  let catalog: AdHocSubgraph;
  let reviews: AdHocSubgraph;
  let native: GatewayEngine;
  let apollo: GatewayEngine;
  const caller = { identityHeader: () => Promise.resolve('signed-identity') };
  const fetched: { engine: string; subgraph: string; dedupe: boolean | undefined; variables: Record<string, unknown> | undefined }[] = [];

  beforeAll(async () => {
    catalog = await startAdHocSubgraph('catalog', catalogTypeDefs, catalogResolvers);
    reviews = await startAdHocSubgraph('reviews', reviewsTypeDefs, reviewsResolvers);
    const supergraphSdl = composeSupergraph([
      { name: catalog.name, url: catalog.url, typeDefs: catalogTypeDefs },
      { name: reviews.name, url: reviews.url, typeDefs: reviewsTypeDefs },
      { name: 'stock', url: 'http://127.0.0.1:1/graphql', typeDefs: stockTypeDefs },
    ]);
    const options = (engine: string) => ({
      supergraphSdl,
      logger: createLogger({ name: 'engine-test', level: 'silent' }),
      connect: (subgraphs: readonly { name: string; url: string }[]) => {
        const upstream = createUpstream({ subgraphs, timeoutMs: 10_000, keepAliveMs: 10_000, protocolOf: () => 'ws', registry: new Registry(), connectionsPerSubgraph: 8, deduplicate: false });
        const execute = upstream.execute.bind(upstream);
        return {
          ...upstream,
          execute: (...args: Parameters<typeof execute>) => {
            fetched.push({ engine, subgraph: args[0], dedupe: args[3]?.dedupe, variables: args[1].variables });
            return execute(...args);
          },
        };
      },
    });
    [native, apollo] = await Promise.all([createNativeEngine(options('native')), createApolloEngine(options('apollo'))]);
  });
  afterAll(async () => {
    await Promise.all([native?.close(), apollo?.close(), catalog?.close(), reviews?.close()]);
  });

  /** The native engine's answer, checked equal to @apollo/gateway's on the same subgraphs. */
  async function run(query: string, variableValues: Record<string, unknown> = {}): Promise<ExecutionResult> {
    const document: DocumentNode = parse(query);
    expect(validate(native.schema, document)).toEqual([]);
    const [ours, theirs] = await Promise.all([
      native.execute({ schema: native.schema, document, variableValues, contextValue: caller }),
      apollo.execute({ schema: apollo.schema, document, variableValues, contextValue: caller }),
    ]);
    expect(JSON.parse(JSON.stringify(ours))).toEqual(JSON.parse(JSON.stringify(theirs)));
    return JSON.parse(JSON.stringify(ours)) as ExecutionResult;
  }

  it('answers entity fields from another subgraph, under the client’s aliases and in its field order', async () => {
    expect(await run('{ first: book(id: "1") { r: rating title: name id again: rating } }')).toEqual({
      data: { first: { r: 2, title: 'Dune', id: '1', again: 2 } },
    });
  });

  it('resolves fragments on interfaces and unions by the runtime __typename, including entity fields behind a type condition', async () => {
    expect(await run('{ items { __typename id ... on Book { pages } ... on Film { minutes } name } search { ... on Item { name } ... on Book { rating } kind: __typename } }')).toEqual({
      data: {
        items: [
          { __typename: 'Book', id: '1', pages: 412, name: 'Dune' },
          { __typename: 'Book', id: '2', pages: 474, name: 'Emma' },
          { __typename: 'Book', id: '3', pages: 730, name: 'Ulysses' },
          { __typename: 'Film', id: 'f1', minutes: 117, name: 'Alien' },
        ],
        search: [
          { name: 'Alien', kind: 'Film' },
          { name: 'Dune', rating: 2, kind: 'Book' },
        ],
      },
    });
  });

  it('applies @skip/@include by the request’s variables', async () => {
    const query = 'query Shelf($withRating: Boolean!, $skipName: Boolean = true) { book(id: "1") { id rating @include(if: $withRating) name @skip(if: $skipName) } }';
    expect(await run(query, { withRating: true })).toEqual({ data: { book: { id: '1', rating: 2 } } });
    expect(await run(query, { withRating: false, skipName: false })).toEqual({ data: { book: { id: '1', name: 'Dune' } } });
  });

  it('re-paths an entity error to the entity’s place in the response, keeping its code and naming the subgraph', async () => {
    const result = await run('{ shelf { id rating } }');
    expect(result.data).toEqual({ shelf: [{ id: '1', rating: 2 }, null, null] });
    expect(result.errors).toEqual([
      { message: 'rating service failed', path: ['shelf', 1, 'rating'], extensions: { code: 'RATING_FAILED', serviceName: 'reviews' } },
    ]);
  });

  it('bubbles a null for a non-null field to the nearest nullable parent, reporting where it was', async () => {
    // Book 3 is unknown to reviews (a null entity, no error): its non-null rating is missing.
    expect(await run('{ book(id: "3") { id rating } }')).toEqual({
      data: { book: null },
      extensions: { valueCompletion: [{ message: 'Cannot return null for non-nullable field Book.rating.', path: ['book', 'rating'], extensions: { code: 'INVALID_GRAPHQL' } }] },
    });
    // `items: [Item!]!`: a missing rating nulls its book, then the list, then (non-null) the whole data.
    expect(await run('{ items { id ... on Book { rating } } }')).toMatchObject({ data: null, errors: [{ path: ['items', 1, 'rating'], extensions: { code: 'RATING_FAILED' } }] });
  });

  it('answers a subgraph that is down with SUBGRAPH_UNAVAILABLE and nulls for its fields, the rest intact', async () => {
    const result = await run('{ book(id: "1") { name inStock } }');
    expect(result.data).toEqual({ book: { name: 'Dune', inStock: null } });
    expect(result.errors).toMatchObject([{ message: 'Subgraph "stock" is unavailable', extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'stock' } }]);
  });

  it('asks for each distinct entity once per fetch, answering (and re-pathing errors to) every place it appears; query fetches are shareable', async () => {
    fetched.length = 0;
    const result = await run('{ picks { id rating } }');
    expect(result).toEqual({
      data: { picks: [null, { id: '1', rating: 2 }, null] },
      errors: [
        { message: 'rating service failed', path: ['picks', 0, 'rating'], extensions: { code: 'RATING_FAILED', serviceName: 'reviews' } },
        { message: 'rating service failed', path: ['picks', 2, 'rating'], extensions: { code: 'RATING_FAILED', serviceName: 'reviews' } },
      ],
    });
    const ours = fetched.filter(({ engine }) => engine === 'native');
    expect(ours.map(({ subgraph, dedupe }) => [subgraph, dedupe])).toEqual([
      ['catalog', true],
      ['reviews', true],
    ]);
    expect(ours[1]!.variables).toEqual({ representations: [{ __typename: 'Book', id: '2' }, { __typename: 'Book', id: '1' }] });
  });

  it('answers introspection from the API schema and rejects bad variables with the coercion error', async () => {
    expect(await run('{ __typename t: __type(name: "Film") { name fields { name } } }')).toEqual({
      data: { __typename: 'Query', t: { name: 'Film', fields: [{ name: 'id' }, { name: 'name' }, { name: 'minutes' }] } },
    });
    expect(await run('query Book($id: ID!) { book(id: $id) { id } }', {})).toMatchObject({ errors: [{ message: 'Variable "$id" of required type "ID!" was not provided.' }] });
  });

  it('resolves a subscription event: the event answers the primary fetch, entity fields come from their subgraph', async () => {
    const document = parse('subscription { bookAdded { name rating } }');
    const args = (engine: GatewayEngine) => ({ schema: engine.schema, document, variableValues: {}, contextValue: caller });
    const event = { data: { bookAdded: { __typename: 'Book', id: '1', name: 'Dune' } } };
    const ours = await native.resolveEvent(native.planSubscription(document, undefined), args(native), structuredClone(event));
    const theirs = await apollo.resolveEvent(apollo.planSubscription(document, undefined), args(apollo), structuredClone(event));
    expect(ours).toEqual({ data: { bookAdded: { name: 'Dune', rating: 2 } } });
    expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
    expect(native.planSubscription(document, undefined)).toMatchObject({ subgraph: 'catalog', rootField: 'bookAdded' });
  });
});
