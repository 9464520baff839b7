import { federation } from './federation-link.js';
import type { SupergraphFixture } from './harness.js';

/**
 * Abstract types across subgraphs: the entity interface `Media` (catalog) with `Book` and
 * `Movie`, extended through `@interfaceObject` (ratings, which knows no implementation), a
 * union from one subgraph whose members' fields live in others (extras), `@shareable` entity
 * fields and a `@shareable` value type resolved by two subgraphs.
 */
interface Item {
  id: string;
  kind: 'Book' | 'Movie';
  title: string;
  pages?: number;
  minutes?: number;
  creator: { name: string; born: number | null };
}
const items: Item[] = [
  { id: 'b1', kind: 'Book', title: 'Dune', pages: 412, creator: { name: 'Frank Herbert', born: 1920 } },
  { id: 'm1', kind: 'Movie', title: 'Alien', minutes: 117, creator: { name: 'Ridley Scott', born: 1937 } },
  { id: 'b2', kind: 'Book', title: 'Solaris', pages: 204, creator: { name: 'Stanisław Lem', born: null } },
  { id: 'm2', kind: 'Movie', title: 'Stalker', minutes: 161, creator: { name: 'Andrei Tarkovsky', born: 1932 } },
];
const itemById = (id: string) => items.find((item) => item.id === id) ?? null;
const ratings: Record<string, number | null> = { b1: 4.5, m1: 4.8, b2: null, m2: 4.1 };

const catalogSubgraph = {
  name: 'catalog',
  typeDefs: /* GraphQL */ `
    ${federation('@key', '@shareable')}
    type Query {
      media(id: ID!): Media
      allMedia: [Media!]!
      search(term: String!): [SearchResult!]!
    }
    union SearchResult = Book | Movie | Creator
    interface Media @key(fields: "id") {
      id: ID!
      title: String!
    }
    type Book implements Media @key(fields: "id") {
      id: ID!
      title: String! @shareable
      pages: Int!
      author: Creator!
    }
    type Movie implements Media @key(fields: "id") {
      id: ID!
      title: String!
      minutes: Int!
      director: Creator
    }
    type Creator @shareable {
      name: String!
      born: Int
    }
  `,
  resolvers: {
    Query: {
      media: (_: unknown, { id }: { id: string }) => itemById(id),
      allMedia: () => items,
      search: (_: unknown, { term }: { term: string }) => [
        ...items.filter((item) => item.title.toLowerCase().includes(term.toLowerCase())),
        ...items.filter((item) => item.creator.name.toLowerCase().includes(term.toLowerCase())).map((item) => item.creator),
      ],
    },
    SearchResult: { __resolveType: (value: Partial<Item>) => value.kind ?? 'Creator' },
    Media: {
      __resolveType: (item: Item) => item.kind,
      __resolveReference: ({ id }: { id: string }) => itemById(id),
    },
    Book: {
      __resolveReference: ({ id }: { id: string }) => itemById(id),
      author: (item: Item) => item.creator,
    },
    Movie: {
      __resolveReference: ({ id }: { id: string }) => itemById(id),
      director: (item: Item) => item.creator,
    },
  },
};

const ratingsSubgraph = {
  name: 'ratings',
  typeDefs: /* GraphQL */ `
    ${federation('@key', '@interfaceObject')}
    type Query {
      topRated(min: Float = 4.2): [Media!]!
    }
    type Media @key(fields: "id") @interfaceObject {
      id: ID!
      rating: Float
      stars: [Int!]!
      "Votes per star, per year."
      histogram: [[Int!]!]!
    }
  `,
  resolvers: {
    Query: {
      topRated: (_: unknown, { min }: { min: number }) =>
        Object.entries(ratings)
          .filter(([, rating]) => rating !== null && rating >= min)
          .map(([id]) => ({ id })),
    },
    Media: {
      __resolveReference: ({ id }: { id: string }) => ({ id }),
      rating: ({ id }: { id: string }) => ratings[id] ?? null,
      stars: ({ id }: { id: string }) => [5, 4, id.length],
      histogram: ({ id }: { id: string }) => [[1, 2, id.length], [], [3]],
    },
  },
};

const extrasSubgraph = {
  name: 'extras',
  typeDefs: /* GraphQL */ `
    ${federation('@key', '@shareable')}
    type Query {
      recommended: [Recommendation!]!
    }
    union Recommendation = Book | Movie
    type Book @key(fields: "id") {
      id: ID!
      title: String! @shareable
      isbn: String!
      similar: [Book!]!
      translator: Creator
    }
    type Movie @key(fields: "id") {
      id: ID!
      studio: String
    }
    type Creator @shareable {
      name: String!
      born: Int
    }
  `,
  resolvers: {
    Query: {
      recommended: () => [{ kind: 'Movie', id: 'm2' }, { kind: 'Book', id: 'b1' }],
    },
    Recommendation: { __resolveType: (value: { kind: string }) => value.kind },
    Book: {
      __resolveReference: ({ id }: { id: string }) => ({ id }),
      title: ({ id }: { id: string }) => itemById(id)!.title,
      isbn: ({ id }: { id: string }) => `isbn-${id}`,
      similar: ({ id }: { id: string }) => items.filter((item) => item.kind === 'Book' && item.id !== id).map((item) => ({ id: item.id })),
      translator: ({ id }: { id: string }) => (id === 'b2' ? { name: 'Joanna Kilmartin', born: null } : null),
    },
    Movie: {
      __resolveReference: ({ id }: { id: string }) => ({ id }),
      studio: ({ id }: { id: string }) => (id === 'm1' ? '20th Century Fox' : null),
    },
  },
};

export const media: SupergraphFixture = {
  name: 'media',
  subgraphs: [catalogSubgraph, ratingsSubgraph, extrasSubgraph],
  cases: [
    {
      name: 'an interface list with inline fragments and @interfaceObject fields',
      query: /* GraphQL */ `
        {
          allMedia {
            __typename
            id
            title
            rating
            histogram
            ... on Book { pages author { name } isbn }
            ... on Movie { minutes director { __typename name born } studio }
          }
        }
      `,
      codes: [],
    },
    {
      name: 'named fragments on the interface and on its implementations',
      query: /* GraphQL */ `
        query One($id: ID!) { media(id: $id) { ...MediaCard } }
        fragment MediaCard on Media { __typename title stars ...BookBits ...MovieBits }
        fragment BookBits on Book { pages similar { title rating } }
        fragment MovieBits on Movie { minutes }
      `,
      variables: { id: 'b2' },
      codes: [],
    },
    {
      name: 'an @interfaceObject root field: the concrete type comes from the owning subgraph',
      query: '{ topRated { __typename id rating title ... on Book { isbn } ... on Movie { minutes studio } } }',
      codes: [],
    },
    {
      name: 'a union across subgraphs, members typed by fragments on the union and on the interface',
      query: /* GraphQL */ `
        query Search($term: String!) {
          search(term: $term) {
            __typename
            ... on Media { id title rating }
            ... on Book { isbn translator { name } }
            ... on Movie { studio }
            ... on Creator { name born }
          }
        }
      `,
      variables: { term: 'e' },
      codes: [],
    },
    {
      name: 'a union owned by a subgraph that knows none of the selected fields',
      query: '{ recommended { __typename ... on Book { title pages rating } ... on Movie { title minutes rating stars } } }',
      codes: [],
    },
    {
      name: 'nested abstract fragments: Media inside the union, Book inside Media',
      query: '{ recommended { ... on Media { __typename id ... on Book { author { name born } similar { id ... on Media { rating } } } } } }',
      codes: [],
    },
    {
      name: '@shareable fields and value types answered by either subgraph',
      query: '{ media(id: "b1") { ... on Book { title author { name born } translator { name born } similar { title translator { name } } } } }',
      codes: [],
    },
    {
      name: 'only __typename on abstract lists, from the owning subgraph',
      query: '{ allMedia { __typename } search(term: "Dune") { __typename } recommended { __typename } topRated { __typename } }',
      codes: [],
    },
    {
      name: 'an interface field under several aliases, in interface and concrete fragments',
      query: '{ allMedia { name: title ... on Book { bookTitle: title title } ... on Media { title rating again: rating } } }',
      codes: [],
    },
    {
      name: 'conditional fragments on abstract types',
      query: /* GraphQL */ `
        query Conditional($books: Boolean!, $movies: Boolean!) {
          allMedia { id ... on Book @include(if: $books) { pages rating } ... on Movie @skip(if: $movies) { minutes } }
        }
      `,
      variables: { books: true, movies: true },
      codes: [],
    },
  ],
};
