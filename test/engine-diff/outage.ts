import { federation } from './federation-link.js';
import type { SupergraphFixture } from './harness.js';

/** `stock` composes into the supergraph, then its server is closed: every fetch to it fails. */
const items = [
  { id: 'i1', name: 'Bolt' },
  { id: 'i2', name: 'Nut' },
];

const catalogSubgraph = {
  name: 'catalog',
  typeDefs: /* GraphQL */ `
    ${federation('@key')}
    type Query {
      items: [Item!]!
      item(id: ID!): Item
    }
    type Mutation {
      rename(id: ID!, name: String!): Item
    }
    type Item @key(fields: "id") {
      id: ID!
      name: String!
    }
  `,
  resolvers: {
    Query: {
      items: () => items,
      item: (_: unknown, { id }: { id: string }) => items.find((item) => item.id === id) ?? null,
    },
    Mutation: {
      rename: (_: unknown, { id, name }: { id: string; name: string }) => ({ id, name }),
    },
    Item: { __resolveReference: ({ id }: { id: string }) => items.find((item) => item.id === id) },
  },
};

const stockSubgraph = {
  name: 'stock',
  typeDefs: /* GraphQL */ `
    ${federation('@key')}
    type Query {
      warehouses: [String!]
    }
    type Mutation {
      restock(id: ID!): Int
    }
    type Item @key(fields: "id") {
      id: ID!
      quantity: Int
      reserved: Int!
    }
  `,
  resolvers: {},
};

export const outage: SupergraphFixture = {
  name: 'outage',
  subgraphs: [catalogSubgraph, stockSubgraph],
  down: ['stock'],
  cases: [
    {
      name: 'a nullable root field of a down subgraph',
      query: '{ warehouses }',
      codes: ['SUBGRAPH_UNAVAILABLE'],
    },
    {
      name: 'a down subgraph beside an up one',
      query: '{ items { id name } warehouses }',
      codes: ['SUBGRAPH_UNAVAILABLE'],
    },
    {
      name: 'nullable entity fields of a down subgraph',
      query: '{ items { __typename name quantity } }',
      codes: ['SUBGRAPH_UNAVAILABLE'],
    },
    {
      name: 'a non-null entity field of a down subgraph bubbles to the nearest nullable parent',
      query: '{ item(id: "i2") { name reserved } items { name } }',
      codes: ['SUBGRAPH_UNAVAILABLE'],
    },
    {
      name: 'a non-null entity field of a down subgraph in a non-null list nulls data',
      query: '{ items { name reserved } }',
      codes: ['SUBGRAPH_UNAVAILABLE'],
    },
    {
      name: 'mutations on an up and a down subgraph, in order',
      query: 'mutation { rename(id: "i1", name: "Screw") { name quantity } restock(id: "i1") }',
      codes: ['SUBGRAPH_UNAVAILABLE', 'SUBGRAPH_UNAVAILABLE'],
    },
  ],
};
