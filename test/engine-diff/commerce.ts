import { GraphQLError, GraphQLScalarType } from 'graphql';

import { federation } from './federation-link.js';
import type { SupergraphFixture } from './harness.js';

/**
 * Four subgraphs around products: entity chains through lists (product → reviews → author →
 * reviews → product), `@requires` (plain, nested, and of a field with arguments), `@provides`,
 * `@external`, `@override`, a `@shareable` value type, subgraph errors with and without a code,
 * and nulls in non-null positions. Resolvers are pure over fixed data (mutations upsert by id),
 * so every engine sees the same subgraphs whatever ran before.
 */

interface Product {
  upc: string;
  name: string;
  price: number;
  weight: number;
  dimensions: { size: string; heightCm: number };
  condition?: string;
}
const products: Product[] = [
  { upc: 'p1', name: 'Table', price: 100, weight: 20, dimensions: { size: 'L', heightCm: 80 } },
  { upc: 'p2', name: 'Chair', price: 50, weight: 5, dimensions: { size: 'M', heightCm: 90 } },
  // Refurbished is not in the API schema (@inaccessible): a value the client must never see.
  { upc: 'p3', name: 'Lamp', price: 20, weight: 1, dimensions: { size: 'S', heightCm: 40 }, condition: 'REFURBISHED' },
];
/** A custom scalar's values pass through as they are, objects and lists included. */
const specs: Record<string, unknown> = { p1: { material: 'oak', legs: 4, finish: { coats: [1, 2] } }, p2: ['stackable', 2], p3: 'plain' };
const createdProducts = new Map<string, Product>();
const productByUpc = (upc: string) => products.find((p) => p.upc === upc) ?? createdProducts.get(upc) ?? null;

interface Review {
  id: string;
  productUpc: string;
  authorId: string;
  body: string;
  stars: number;
}
const reviews: Review[] = [
  { id: 'r1', productUpc: 'p1', authorId: 'u1', body: 'Sturdy', stars: 5 },
  { id: 'r2', productUpc: 'p1', authorId: 'u2', body: 'Wobbly', stars: 2 },
  { id: 'r3', productUpc: 'p2', authorId: 'u1', body: 'Comfy', stars: 4 },
  { id: 'r4', productUpc: 'p3', authorId: 'u2', body: 'Dim', stars: 3 },
];
const addedReviews = new Map<string, Review>();
const users = [
  { id: 'u1', username: 'ada', email: 'ada@example.test' },
  { id: 'u2', username: 'grace', email: null },
];

/** A resolver that needs a field another subgraph provides: fails loudly when the engine did not send it. */
function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new GraphQLError(`required field ${field} missing from the representation`, { extensions: { code: 'MISSING_REQUIRED' } });
  return value;
}

const productsSubgraph = {
  name: 'products',
  typeDefs: /* GraphQL */ `
    ${federation('@key', '@shareable', '@inaccessible')}
    type Query {
      topProducts(first: Int = 3): [Product!]!
      product(upc: ID!): Product
      products(upcs: [ID!]!): [Product]!
    }
    type Mutation {
      createProduct(input: ProductInput!): Product!
    }
    input ProductInput {
      upc: ID!
      name: String!
      price: Int!
      weight: Int = 1
      dimensions: DimensionsInput = { size: "S", heightCm: 10 }
    }
    input DimensionsInput {
      size: String!
      heightCm: Int!
    }
    enum Currency {
      USD
      EUR
    }
    type Product @key(fields: "upc") {
      upc: ID!
      name: String!
      price: Int!
      weight: Int!
      priceIn(currency: Currency!): Int!
      dimensions: Dimensions!
      condition: Condition
      specs: JSON
      "Unknown for p3: an error, and a null for whoever requires it."
      volume: Int
    }
    type Dimensions @shareable {
      size: String!
      heightCm: Int!
    }
    enum Condition {
      NEW
      USED
      REFURBISHED @inaccessible
    }
    scalar JSON
  `,
  resolvers: {
    JSON: new GraphQLScalarType({ name: 'JSON', serialize: (value) => value }),
    Query: {
      topProducts: (_: unknown, { first }: { first: number }) => products.slice(0, first),
      product: (_: unknown, { upc }: { upc: string }) => productByUpc(upc),
      products: (_: unknown, { upcs }: { upcs: string[] }) => upcs.map(productByUpc),
    },
    Mutation: {
      createProduct(_: unknown, { input }: { input: Product }) {
        createdProducts.set(input.upc, input);
        return input;
      },
    },
    Product: {
      __resolveReference: ({ upc }: { upc: string }) => productByUpc(upc),
      priceIn: (product: Product, { currency }: { currency: 'USD' | 'EUR' }) => (currency === 'EUR' ? Math.round((product.price * 9) / 10) : product.price),
      condition: (product: Product) => product.condition ?? (product.upc === 'p1' ? 'NEW' : 'USED'),
      specs: (product: Product) => specs[product.upc] ?? null,
      volume(product: Product) {
        if (product.upc === 'p3') throw new GraphQLError('volume of p3 is unknown', { extensions: { code: 'UNMEASURED' } });
        return product.weight * 10;
      },
    },
  },
};

const inventorySubgraph = {
  name: 'inventory',
  typeDefs: /* GraphQL */ `
    ${federation('@key', '@external', '@requires', '@shareable')}
    enum Currency {
      USD
      EUR
    }
    type Product @key(fields: "upc") {
      upc: ID!
      price: Int! @external
      weight: Int! @external
      dimensions: Dimensions! @external
      volume: Int @external
      inStock: Boolean!
      fragile: Boolean @requires(fields: "volume")
      shippingEstimate: Int! @requires(fields: "price weight")
      packaging: String! @requires(fields: "dimensions { size }")
      warehouseCode: String!
    }
    type Dimensions @shareable {
      size: String!
      heightCm: Int!
    }
  `,
  resolvers: {
    Product: {
      __resolveReference: (reference: Partial<Product> & { upc: string }) => reference,
      inStock: ({ upc }: Product) => upc !== 'p2',
      shippingEstimate: (p: Partial<Product>) => (required(p.price, 'price') > 60 ? 0 : required(p.weight, 'weight') * 2),
      fragile: (p: Partial<Product> & { volume?: number | null }) => {
        const volume = required(p.volume, 'volume');
        return volume === null ? null : volume < 100;
      },
      packaging: (p: Partial<Product>) => (required(p.dimensions, 'dimensions').size === 'L' ? 'crate' : 'box'),
      // p3 breaks its contract: a null where the schema promises a value.
      warehouseCode: ({ upc }: Product) => (upc === 'p3' ? null : `WH-${upc}`),
    },
  },
};

const reviewsSubgraph = {
  name: 'reviews',
  typeDefs: /* GraphQL */ `
    ${federation('@key', '@external', '@provides', '@override')}
    type Query {
      latestReviews(first: Int = 2): [Review!]!
      review(id: ID!): Review
      "Reviews of a product and by an author that no longer exist."
      orphanReviews: [Review]!
    }
    type Mutation {
      addReview(input: ReviewInput!): Review!
      deleteReview(id: ID!): Boolean!
    }
    type Subscription {
      "Each review in turn, then the end."
      reviewPosted(count: Int = 4): Review!
    }
    input ReviewInput {
      id: ID!
      productUpc: ID!
      authorId: ID!
      body: String!
      stars: Int = 5
    }
    type Review @key(fields: "id") {
      id: ID!
      body: String!
      stars: Int!
      flagged: Boolean
      author: User! @provides(fields: "username")
      product: Product!
    }
    type User @key(fields: "id") {
      id: ID!
      username: String! @external
      name: String! @override(from: "accounts")
      reviews: [Review!]!
    }
    type Product @key(fields: "upc") {
      upc: ID!
      reviews: [Review!]!
    }
  `,
  resolvers: {
    Query: {
      latestReviews: (_: unknown, { first }: { first: number }) => [...reviews].reverse().slice(0, first),
      review: (_: unknown, { id }: { id: string }) => reviews.find((r) => r.id === id) ?? addedReviews.get(id) ?? null,
      orphanReviews: () => [{ id: 'r404', productUpc: 'p404', authorId: 'u404', body: 'Gone', stars: 1 }],
    },
    Mutation: {
      addReview(_: unknown, { input }: { input: Review }) {
        addedReviews.set(input.id, input);
        return input;
      },
      deleteReview() {
        throw new GraphQLError('reviews cannot be deleted', { extensions: { code: 'FORBIDDEN' } });
      },
    },
    Subscription: {
      reviewPosted: {
        async *subscribe(_: unknown, { count }: { count: number }) {
          for (const review of reviews.slice(0, count)) yield { reviewPosted: review };
        },
      },
    },
    Review: {
      __resolveReference: ({ id }: { id: string }) => reviews.find((r) => r.id === id),
      flagged(review: Review) {
        if (review.id === 'r2') throw new GraphQLError('moderation state of r2 is private', { extensions: { code: 'FORBIDDEN' } });
        return false;
      },
      // The provided username differs from accounts' on purpose: it shows which subgraph answered.
      author: (review: Review) => ({ id: review.authorId, username: `${users.find((u) => u.id === review.authorId)?.username ?? 'nobody'} (provided)` }),
      product: (review: Review) => ({ upc: review.productUpc }),
    },
    User: {
      __resolveReference: ({ id }: { id: string }) => ({ id }),
      name: ({ id }: { id: string }) => `Name of ${id} (reviews)`,
      reviews: ({ id }: { id: string }) => reviews.filter((r) => r.authorId === id),
    },
    Product: {
      reviews: ({ upc }: { upc: string }) => reviews.filter((r) => r.productUpc === upc),
    },
  },
};

const accountsSubgraph = {
  name: 'accounts',
  typeDefs: /* GraphQL */ `
    ${federation('@key', '@shareable')}
    type Query {
      me: User
      users: [User!]!
    }
    type User @key(fields: "id") {
      id: ID!
      username: String! @shareable
      name: String!
      email: String
    }
  `,
  resolvers: {
    Query: {
      me: () => users[0],
      users: () => users,
    },
    User: {
      __resolveReference: ({ id }: { id: string }) => users.find((u) => u.id === id),
      name: ({ id }: { id: string }) => `Name of ${id} (accounts)`,
      email(user: (typeof users)[number]) {
        // A plain Error: the subgraph reports it without a code.
        if (user.email === null) throw new Error(`no email for ${user.id}`);
        return user.email;
      },
    },
  },
};

export const commerce: SupergraphFixture = {
  name: 'commerce',
  subgraphs: [productsSubgraph, inventorySubgraph, reviewsSubgraph, accountsSubgraph],
  cases: [
    {
      name: 'aliases and __typename at every level, across entity fetches',
      query: /* GraphQL */ `
        query Aliased {
          __typename
          first: product(upc: "p1") { __typename upc title: name stock: inStock }
          second: product(upc: "p2") { __typename kind: __typename name inStock }
          missing: product(upc: "nope") { upc }
        }
      `,
      codes: [],
    },
    {
      name: 'nested entity chain through lists of entities',
      query: /* GraphQL */ `
        {
          topProducts {
            upc
            reviews {
              body
              author {
                name
                username
                reviews { __typename product { __typename name inStock shippingEstimate } }
              }
            }
          }
        }
      `,
      codes: [],
    },
    {
      name: '@requires of plain and nested external fields',
      query: '{ topProducts(first: 3) { upc shippingEstimate packaging } }',
      codes: [],
    },
    {
      name: '@requires when the query also selects the required fields',
      query: '{ product(upc: "p2") { weight shippingEstimate price dimensions { size } packaging } }',
      codes: [],
    },
    {
      name: '@provides: the author username comes with the review',
      query: '{ latestReviews { id author { id username name } } }',
      codes: [],
    },
    {
      name: '@override: User.name from reviews, username from accounts',
      query: '{ me { __typename id name username email } }',
      codes: [],
    },
    {
      name: 'variables with defaults feeding arguments',
      query: 'query Top($first: Int = 2, $upc: ID!) { topProducts(first: $first) { upc } product(upc: $upc) { name } }',
      variables: { upc: 'p3' },
      codes: [],
    },
    {
      name: 'variables override defaults',
      query: 'query Top($first: Int = 2) { topProducts(first: $first) { upc name } }',
      variables: { first: 1 },
      codes: [],
    },
    {
      name: 'a list variable; an unknown key gives a null item, entity fields on the others',
      query: 'query Some($upcs: [ID!]!) { products(upcs: $upcs) { upc name inStock reviews { stars author { username } } } }',
      variables: { upcs: ['p2', 'nope', 'p1'] },
      codes: [],
    },
    {
      name: '@skip and @include driven by variables, on fields of several subgraphs',
      query: /* GraphQL */ `
        query Conditional($withReviews: Boolean!, $skipStock: Boolean = false) {
          topProducts {
            name
            reviews @include(if: $withReviews) { body author @skip(if: $skipStock) { name } }
            inStock @skip(if: $skipStock)
            shippingEstimate @include(if: $withReviews)
          }
        }
      `,
      variables: { withReviews: true, skipStock: true },
      codes: [],
    },
    {
      name: '@skip and @include the other way round, on fragments too',
      query: /* GraphQL */ `
        query Conditional($withReviews: Boolean!, $skipStock: Boolean = false) {
          topProducts(first: 2) {
            name
            ... @include(if: $withReviews) { reviews { stars } }
            ...Stock @skip(if: $skipStock)
          }
        }
        fragment Stock on Product { inStock warehouseCode }
      `,
      variables: { withReviews: false },
      codes: [],
    },
    {
      name: 'named fragments spread at several depths',
      query: /* GraphQL */ `
        query WithFragments {
          topProducts(first: 2) { ...ProductCard reviews { ...ReviewLine } }
          latestReviews(first: 1) { ...ReviewLine product { ...ProductCard } }
        }
        fragment ProductCard on Product { __typename upc name inStock }
        fragment ReviewLine on Review { id stars author { ...Person } }
        fragment Person on User { name username }
      `,
      codes: [],
    },
    {
      name: 'introspection beside federated fields',
      query: /* GraphQL */ `
        {
          __schema { queryType { name } mutationType { name } subscriptionType { name } }
          __type(name: "Product") { name kind fields { name type { kind name ofType { kind name } } } }
          topProducts(first: 1) { __typename name }
        }
      `,
      codes: [],
    },
    {
      name: 'one field under several aliases with different arguments',
      query: /* GraphQL */ `
        query Prices($currency: Currency!) {
          a: products(upcs: ["p1"]) { name eur: priceIn(currency: EUR) usd: priceIn(currency: USD) chosen: priceIn(currency: $currency) }
          b: products(upcs: ["p2", "p3"]) { name inStock }
        }
      `,
      variables: { currency: 'EUR' },
      codes: [],
    },
    {
      name: '@skip and @include on root fields and on __typename',
      query: 'query Roots($yes: Boolean = true, $no: Boolean = false) { me @include(if: $no) { name } users @include(if: $yes) { __typename @skip(if: $yes) username } __typename @include(if: $yes) }',
      codes: [],
    },
    {
      name: 'a variable of the wrong type',
      query: 'query Top($first: Int) { topProducts(first: $first) { upc } }',
      variables: { first: 'three' },
      // No data at all, and no code: what graphql-js gives (Yoga adds a code before the engine sees variables).
      codes: [null],
    },
    {
      name: 'a required variable missing',
      query: 'query One($upc: ID!) { product(upc: $upc) { name inStock } }',
      codes: [null],
    },
    {
      name: 'a custom scalar: objects, lists and strings pass through',
      query: '{ topProducts { upc specs } }',
      codes: [],
    },
    {
      name: 'an @inaccessible enum value from a subgraph',
      query: '{ topProducts { upc condition } }',
      // Apollo answers null without an error (graphql-js would raise one); engines must agree.
      codes: [],
    },
    {
      name: '@requires of a field that failed: null required, with its error',
      query: '{ topProducts { upc fragile } }',
      // The error keeps the path of the required field, which the client did not select.
      codes: ['UNMEASURED'],
    },
    {
      name: 'entities their subgraphs no longer find: nulls for nullable fields, bubbling for non-null ones',
      query: '{ orphanReviews { id author { id username email } } again: orphanReviews { id product { upc name } } }',
      // Apollo bubbles the missing non-null name to the list item without an error.
      codes: [],
    },
    {
      name: 'operationName picks one of several operations',
      query: 'query A { me { name } } query B { users { username } }',
      operationName: 'B',
      codes: [],
    },
    {
      name: 'a subgraph error with a code, on one review of a list',
      query: '{ latestReviews(first: 4) { id flagged author { username } } }',
      codes: ['FORBIDDEN'],
    },
    {
      name: 'a subgraph error without a code, from an entity fetch',
      query: '{ latestReviews(first: 4) { id author { name email } } }',
      // Apollo's code for a subgraph error that has none; u2 is fetched once but answers at two paths.
      codes: ['DOWNSTREAM_SERVICE_ERROR', 'DOWNSTREAM_SERVICE_ERROR'],
    },
    {
      name: 'a null in a non-null entity field nulls its nullable parent',
      query: '{ product(upc: "p3") { name warehouseCode } other: product(upc: "p1") { name warehouseCode } review(id: "r4") { body product { warehouseCode } } }',
      codes: ['DOWNSTREAM_SERVICE_ERROR', 'DOWNSTREAM_SERVICE_ERROR'],
    },
    {
      name: 'a null in a non-null entity field bubbles up to data',
      query: '{ topProducts { upc warehouseCode } }',
      codes: ['DOWNSTREAM_SERVICE_ERROR'],
    },
    {
      name: 'a null bubbles through lists of entities reached by a chain, up to data',
      query: '{ users { name reviews { body product { name warehouseCode } } } me { username } }',
      codes: ['DOWNSTREAM_SERVICE_ERROR'],
    },
    {
      name: 'mutations run in order, with input objects, defaults and entity fields',
      query: /* GraphQL */ `
        mutation Create($product: ProductInput!, $stars: Int) {
          created: createProduct(input: $product) { upc name weight dimensions { size } inStock shippingEstimate packaging reviews { id } }
          addReview(input: { id: "r9", productUpc: "p9", authorId: "u2", body: "New", stars: $stars }) {
            id stars author { name username } product { name inStock }
          }
        }
      `,
      variables: { product: { upc: 'p9', name: 'Shelf', price: 70 } },
      codes: [],
    },
    {
      name: 'a subscription: each event resolved across subgraphs, with an error and a null bubbling to data',
      query: /* GraphQL */ `
        subscription Posted($withEmail: Boolean!) {
          reviewPosted {
            __typename
            id
            author { name username email @include(if: $withEmail) }
            product { name inStock shippingEstimate warehouseCode }
          }
        }
      `,
      variables: { withEmail: true },
      // r2 by u2 (no email); r4 by u2 on p3 (no email, no warehouse code).
      codes: ['DOWNSTREAM_SERVICE_ERROR', 'DOWNSTREAM_SERVICE_ERROR', 'DOWNSTREAM_SERVICE_ERROR'],
    },
    {
      name: 'a failing mutation between two that succeed',
      query: /* GraphQL */ `
        mutation Mixed {
          __typename
          first: addReview(input: { id: "r10", productUpc: "p1", authorId: "u1", body: "Ten" }) { id }
          deleteReview(id: "r1")
          last: createProduct(input: { upc: "p10", name: "Stool", price: 30 }) { upc inStock }
        }
      `,
      codes: ['FORBIDDEN'],
    },
    {
      name: 'what the mutations wrote is read back',
      query: '{ product(upc: "p9") { name price weight } review(id: "r9") { body stars } }',
      codes: [],
    },
  ],
  apolloGetsWrong: [
    {
      // Apollo orders a merged field's sub-fields by the fetches that answered them, not as
      // CollectFields does (first occurrence in the query): checked against graphql-js.
      name: 'one field selected several times with different sub-selections: keys in query order',
      query: /* GraphQL */ `
        {
          topProducts(first: 1) {
            reviews { id }
            ... on Product { reviews { body author { name } } }
            ...Reviews
            reviews { author { username } }
          }
        }
        fragment Reviews on Product { reviews { id stars author { name } } }
      `,
      correct: {
        topProducts: [
          {
            reviews: [
              { id: 'r1', body: 'Sturdy', author: { name: 'Name of u1 (reviews)', username: 'ada (provided)' }, stars: 5 },
              { id: 'r2', body: 'Wobbly', author: { name: 'Name of u2 (reviews)', username: 'grace (provided)' }, stars: 2 },
            ],
          },
        ],
      },
      apollo: {
        topProducts: [
          {
            reviews: [
              { id: 'r1', author: { username: 'ada (provided)', name: 'Name of u1 (reviews)' }, body: 'Sturdy', stars: 5 },
              { id: 'r2', author: { username: 'grace (provided)', name: 'Name of u2 (reviews)' }, body: 'Wobbly', stars: 2 },
            ],
          },
        ],
      },
    },
  ],
};
