import type { GraphQLRequestBody } from '../../gateway/upstream/index.js';
import { federation } from './federation-link.js';
import type { SupergraphFixture } from './harness.js';

/**
 * A subgraph that breaks its schema's promises (raw JSON, not graphql-js): values of the wrong
 * type, outside the enum, missing, a scalar where a list or an object belongs, an unknown
 * `__typename`. What the client gets then is the engine's result shaping alone.
 */
const things: Record<string, Record<string, unknown>> = {
  // As the schema says.
  t1: { id: 't1', count: 1, ratio: 0.5, tags: ['a', 'b'], kind: 'A', detail: { note: 'n' }, total: 1, flags: [true] },
  // Wrong scalar types, a value outside the enum.
  t2: { id: 't2', count: 'two', ratio: 'half', tags: ['a', 2], kind: 'Z', detail: { note: 7 }, total: 'x', flags: [true, 'no'] },
  // A fraction for an Int, a scalar for a list and for an object, nulls for non-null types.
  t3: { id: 't3', count: 2.5, ratio: null, tags: 'a', kind: null, detail: 'text', total: null, flags: null },
  // Only its key.
  t4: { id: 't4' },
};

function respondAsLiar(request: GraphQLRequestBody) {
  const representations = request.variables?.representations as { __typename: string; id: string }[] | undefined;
  if (representations) {
    return {
      data: {
        _entities: representations.map(({ id }) => (id === 't5' ? { __typename: 'Nope', id, count: 5 } : { __typename: 'Thing', ...things[id] })),
      },
    };
  }
  return { data: { liarThings: [{ __typename: 'Thing', ...things.t1 }, { __typename: 'Thing', ...things.t2 }] } };
}

const honestSubgraph = {
  name: 'honest',
  typeDefs: /* GraphQL */ `
    ${federation('@key')}
    type Query {
      things(ids: [ID!]!): [Thing!]!
    }
    type Thing @key(fields: "id") {
      id: ID!
      label: String!
    }
  `,
  resolvers: {
    Query: { things: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => ({ id })) },
    Thing: { __resolveReference: ({ id }: { id: string }) => ({ id }), label: ({ id }: { id: string }) => `Thing ${id}` },
  },
};

const liarSubgraph = {
  name: 'liar',
  typeDefs: /* GraphQL */ `
    ${federation('@key')}
    type Query {
      liarThings: [Thing]
    }
    type Thing @key(fields: "id") {
      id: ID!
      count: Int
      ratio: Float
      tags: [String]
      kind: Kind
      detail: Detail
      total: Int!
      flags: [Boolean!]
    }
    enum Kind {
      A
      B
    }
    type Detail {
      note: String
    }
  `,
  respond: respondAsLiar,
};

export const broken: SupergraphFixture = {
  name: 'broken-subgraph',
  subgraphs: [honestSubgraph, liarSubgraph],
  cases: [
    {
      name: 'values of the wrong scalar type, and outside the enum',
      query: '{ things(ids: ["t1", "t2", "t4"]) { id count ratio kind label } }',
      codes: [],
    },
    {
      name: 'a fraction for an Int and nulls for nullable fields',
      query: '{ things(ids: ["t3"]) { id count ratio kind } }',
      codes: [],
    },
    {
      name: 'a non-null field with a wrong value, a null, and missing',
      query: '{ a: things(ids: ["t1"]) { total } b: things(ids: ["t2"]) { total } }',
      codes: [],
    },
    {
      name: 'a non-null field null or missing, in a list of entities',
      query: '{ things(ids: ["t1", "t3", "t4"]) { id total } }',
      codes: [],
    },
    {
      name: 'list items of the wrong type',
      query: '{ things(ids: ["t1", "t2"]) { id tags flags } }',
      codes: [],
    },
    {
      name: 'a scalar where a list belongs',
      query: '{ things(ids: ["t3"]) { id tags } }',
      // No data at all: apollo fails the whole operation.
      codes: [null],
    },
    {
      name: 'a scalar where an object belongs, and a wrong leaf inside an object',
      query: '{ things(ids: ["t2", "t3"]) { id detail { note } } }',
      // No data at all: apollo fails the whole operation.
      codes: [null],
    },
    {
      name: 'an entity answered with an unknown __typename',
      query: '{ things(ids: ["t1", "t5"]) { id count label } }',
      codes: [],
    },
    {
      name: 'a root field of the broken subgraph, then entity fields from the other',
      query: '{ liarThings { __typename id count kind label } }',
      codes: [],
    },
  ],
};
