import { federation } from './federation-link.js';
import type { SupergraphFixture } from './harness.js';

/**
 * `@requires` of a field with arguments: `shipping` needs the price in EUR, which `prices`
 * computes from its `currency` argument.
 */
const prices: Record<string, number> = { p1: 100, p2: 55 };

const pricesSubgraph = {
  name: 'prices',
  typeDefs: /* GraphQL */ `
    ${federation('@key')}
    type Query {
      products: [Product!]!
    }
    enum Currency {
      USD
      EUR
    }
    type Product @key(fields: "upc") {
      upc: ID!
      price(currency: Currency!): Int!
    }
  `,
  resolvers: {
    Query: { products: () => Object.keys(prices).map((upc) => ({ upc })) },
    Product: {
      price: ({ upc }: { upc: string }, { currency }: { currency: 'USD' | 'EUR' }) => (currency === 'EUR' ? Math.round((prices[upc]! * 9) / 10) : prices[upc]!),
    },
  },
};

const shippingSubgraph = {
  name: 'shipping',
  typeDefs: /* GraphQL */ `
    ${federation('@key', '@external', '@requires')}
    enum Currency {
      USD
      EUR
    }
    type Product @key(fields: "upc") {
      upc: ID!
      price(currency: Currency!): Int! @external
      "Free above 50 EUR."
      shippingEur: Int! @requires(fields: "price(currency: EUR)")
    }
  `,
  resolvers: {
    Product: {
      __resolveReference: (reference: { upc: string; price?: number }) => reference,
      shippingEur: ({ price }: { price?: number }) => (price === undefined ? -1 : price > 50 ? 0 : 7),
    },
  },
};

export const requiresArguments: SupergraphFixture = {
  name: 'requires-arguments',
  subgraphs: [pricesSubgraph, shippingSubgraph],
  cases: [
    { name: 'a required field with an argument', query: '{ products { upc shippingEur } }', codes: [] },
    { name: 'the required field also selected under an alias, with another argument', query: '{ products { upc usd: price(currency: USD) shippingEur } }', codes: [] },
  ],
  /**
   * Where `@apollo/query-planner` 2.14.4 is wrong: when the query selects the required field
   * itself, unaliased, with another argument, the planner merges the two selections of `price`
   * into the one fetch from `prices` and keeps whichever comes first in the query. So either
   * `shipping` is given the USD price as the EUR one, or the client is given the EUR price it
   * did not ask for.
   */
  apolloGetsWrong: [
  {
    name: 'the required field selected before, with another argument: shipping computed from the USD price',
    query: '{ products { upc price(currency: USD) shippingEur } }',
    // p2 is 55 USD, 50 EUR: not above 50 EUR, so shipping is 7.
    correct: { products: [{ upc: 'p1', price: 100, shippingEur: 0 }, { upc: 'p2', price: 55, shippingEur: 7 }] },
    apollo: { products: [{ upc: 'p1', price: 100, shippingEur: 0 }, { upc: 'p2', price: 55, shippingEur: 0 }] },
  },
  {
    name: 'the required field selected after, with another argument: the client gets EUR prices for USD',
    query: '{ products { upc shippingEur price(currency: USD) } }',
    correct: { products: [{ upc: 'p1', shippingEur: 0, price: 100 }, { upc: 'p2', shippingEur: 7, price: 55 }] },
    apollo: { products: [{ upc: 'p1', shippingEur: 0, price: 90 }, { upc: 'p2', shippingEur: 7, price: 50 }] },
  },
  ],
};
