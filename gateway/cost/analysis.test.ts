import { readFileSync } from 'node:fs';

import { buildSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';

import { createCostAnalysis, type OperationLimits, type PricedOperation } from './analysis.js';
import { readCostDirectives } from './directives.js';

const sdl = /* GraphQL */ `
  directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
  directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
  type Query {
    users(first: Int, last: Int): UserConnection @listSize(slicingArguments: ["first", "last"], sizedFields: ["edges"])
    models: [Model!] @listSize(assumedSize: 20)
    tags: [String!]
    search(term: String @cost(weight: 3)): [Model!] @listSize(assumedSize: 5)
    jobsMatching(filter: JobFilter @cost(weight: 5), limit: Int): [Job!] @listSize(assumedSize: 2)
  }
  input JobFilter { model: String @cost(weight: 2) tags: [TagFilter!] @cost(weight: 1) since: String any: [JobFilter!] }
  input TagFilter { name: String! @cost(weight: 4) }
  type Mutation { login(password: String!): Session @cost(weight: 20) }
  type Session { token: String! }
  type UserConnection { edges: [UserEdge!]! pageInfo: PageInfo! }
  type PageInfo { hasNextPage: Boolean! }
  type UserEdge { node: User! }
  type User { id: ID! jobs(first: Int! = 20): [Job!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false) avatar: Image }
  type Job { id: ID! model: Model! }
  type Model { id: ID! }
  type Image @cost(weight: 5) { url: String! }
`;
const schema = buildSchema(sdl);
const limits: OperationLimits = { maxDepth: 8, maxAliases: 3, maxRootFields: 3, maxDirectivesPerField: 2 };
const analysis = createCostAnalysis(readCostDirectives(sdl, () => null), limits);

const priced = (document: string): PricedOperation => {
  const result = analysis.analyse(schema, parse(document), undefined);
  if (result instanceof Error) throw result;
  return result;
};
const refusalCode = (document: string) => {
  const result = analysis.analyse(schema, parse(document), undefined);
  return result instanceof Error ? result.extensions.code : null;
};

const NESTED = /* GraphQL */ `
  query Users($n: Int) {
    users(first: $n) { pageInfo { hasNextPage } edges { node { id jobs(first: 3) { id model { id } } avatar { url } } } }
  }
`;

describe('cost analysis (Federation @cost / @listSize)', () => {
  it('prices a nested paginated query at the hand-computed figure', () => {
    // users: 1 × (1 + pageInfo 1 + edges), edges sized by first = 10: 10 × (1 + node),
    // node: 1 + jobs 3 × (1 + model 1) + avatar (Image @cost 5) = 12 → edges 130 → 132.
    expect(priced(NESTED).estimate({ n: 10 })).toBe(132);
    // Variables are applied per request on the same cached analysis.
    expect(priced(NESTED).estimate({ n: 1 })).toBe(1 + 1 + 1 * (1 + 12));
  });

  it('computes the actual cost from the real list lengths in the response', () => {
    const data = {
      users: {
        pageInfo: { hasNextPage: false },
        edges: [
          { node: { id: '1', jobs: [{ id: 'j', model: { id: 'm' } }], avatar: { url: 'u' } } },
          { node: { id: '2', jobs: [{ id: 'k', model: { id: 'm' } }], avatar: null } },
        ],
      },
    };
    // 1 + 1 + edge (1 + node (1 + jobs 1 × 2 + avatar 5)) = 9 + edge without avatar 4.
    expect(priced(NESTED).actual(data, { n: 10 })).toBe(15);
  });

  it('counts a response key selected twice (plain and in a fragment) once in the actual cost', () => {
    const twice = '{ users(first: 2) { edges { node { avatar { url } ... on User { avatar { url } } } } } }';
    const data = { users: { edges: [{ node: { avatar: { url: 'u' } } }, { node: { avatar: null } }] } };
    // users 1 + edge 1 + node 1 + one avatar 5 + edge 1 + node 1.
    expect(priced(twice).actual(data, {})).toBe(1 + 1 + 1 + 5 + 1 + 1);
  });

  it('applies the documented defaults: scalars 0, lists of 10, assumedSize, mutation 10, argument @cost', () => {
    expect(priced('{ tags }').estimate({})).toBe(0);
    expect(priced('{ models { id } }').estimate({})).toBe(20);
    expect(priced('{ search(term: "x") { id } }').estimate({})).toBe(5 * 1 + 3);
    expect(priced('mutation { login(password: "p") { token } }').estimate({})).toBe(10 + 20);
    expect(priced('{ __typename __schema { types { name } } }').estimate({})).toBe(0);
  });

  it('adds the @cost of arguments and input fields given (not null), literal or from variables, nested and in lists', () => {
    const byVariable = 'query($f: JobFilter) { jobsMatching(filter: $f) { id } }';
    // The list: 2 × Job 1 = 2. filter given: 5; model given: 2; tags given: 1 + two TagFilters × name 4 = 9; since null: 0.
    expect(priced(byVariable).estimate({ f: { model: 'm', tags: [{ name: 'a' }, { name: 'b' }], since: null } })).toBe(2 + 5 + 2 + 9);
    // Nested JobFilter in `any`: its model 2 more (a recursive input type).
    expect(priced(byVariable).estimate({ f: { any: [{ model: 'm' }] } })).toBe(2 + 5 + 2);
    // Absent or null: the argument is not given, nothing is added.
    expect(priced(byVariable).estimate({})).toBe(2);
    expect(priced(byVariable).estimate({ f: null })).toBe(2);
    expect(priced('{ jobsMatching(filter: { model: "m", since: "x" }) { id } }').estimate({})).toBe(2 + 5 + 2);
    expect(priced('query($m: String) { jobsMatching(filter: { model: $m }) { id } }').estimate({})).toBe(2 + 5);
    expect(priced('{ jobsMatching(limit: 3) { id } }').estimate({})).toBe(2);
    // The actual cost counts them the same, once per field in the response.
    expect(priced(byVariable).actual({ jobsMatching: [{ id: '1' }] }, { f: { model: 'm' } })).toBe(1 + 5 + 2);
    // One data object (requests sharing an execution) priced again, with the same and with other variables.
    const shared = { jobsMatching: [{ id: '1' }, { id: '2' }] };
    expect(priced(byVariable).actual(shared, { f: { model: 'm' } })).toBe(2 + 5 + 2);
    expect(priced(byVariable).actual(shared, { f: { model: 'm' } })).toBe(2 + 5 + 2);
    expect(priced(byVariable).actual(shared, {})).toBe(2);
  });

  it('uses a slicing argument from variables, and the schema default when none is passed', () => {
    const jobs = 'query($n: Int!) { users(first: 1) { edges { node { jobs(first: $n) { id } } } } }';
    // users 1 + edges 1 × (1 + node (1 + jobs n × 1)).
    expect(priced(jobs).estimate({ n: 7 })).toBe(1 + 1 + 1 + 7);
    expect(priced('{ users(first: 1) { edges { node { jobs { id } } } } }').estimate({})).toBe(1 + 1 + 1 + 20);
  });

  it('refuses a list priced with requireOneSlicingArgument when none or several slicing arguments are passed', () => {
    expect(() => priced('{ users { pageInfo { hasNextPage } } }').estimate({})).toThrow(/Exactly one of first, last/);
    expect(() => priced('{ users(first: 1, last: 2) { pageInfo { hasNextPage } } }').estimate({})).toThrow(/Exactly one/);
  });

  it('leaves out fields that @skip or @include drop with these variables', () => {
    const document = 'query($skip: Boolean!) { models @skip(if: $skip) { id } }';
    expect(priced(document).estimate({ skip: true })).toBe(0);
    expect(priced(document).estimate({ skip: false })).toBe(20);
    const onFragments = 'query($skip: Boolean!) { ... @skip(if: $skip) { models { id } } ...Tags @include(if: $skip) } fragment Tags on Query { search(term: "x") { id } }';
    expect(priced(onFragments).estimate({ skip: true })).toBe(5 + 3);
    expect(priced(onFragments).estimate({ skip: false })).toBe(20);
  });

  it('refuses each operation limit with its own code', () => {
    expect(refusalCode('{ a: tags b: tags c: tags d: tags }')).toBe('ALIAS_LIMIT_EXCEEDED');
    expect(refusalCode('{ tags models { id } search { id } users(first: 1) { pageInfo { hasNextPage } } }')).toBe('ROOT_FIELD_LIMIT_EXCEEDED');
    expect(refusalCode('{ tags @skip(if: false) @include(if: true) @skip(if: false) }')).toBe('DIRECTIVE_LIMIT_EXCEEDED');
    const deep = '{ users(first: 1) { edges { node { jobs { model { id } } } } } }';
    expect(refusalCode(deep)).toBeNull();
    const tooDeep = createCostAnalysis(readCostDirectives(sdl, () => null), { ...limits, maxDepth: 5 });
    expect(tooDeep.analyse(schema, parse(deep), undefined)).toMatchObject({ extensions: { code: 'DEPTH_LIMIT_EXCEEDED' } });
  });

  it('analyses a document once and reuses it for every request', () => {
    const document = parse(NESTED);
    expect(analysis.analyse(schema, document, undefined)).toBe(analysis.analyse(schema, document, undefined));
  });
});

describe('the weights in our supergraph', () => {
  it('prices a password-hashing mutation with its @cost', () => {
    const supergraph = readFileSync(new URL('../../supergraph.graphql', import.meta.url), 'utf8');
    const real = createCostAnalysis(readCostDirectives(supergraph, () => null), limits);
    const result = real.analyse(buildSchema(supergraph), parse('mutation { login(input: { email: "a@b.c", password: "p" }) { accessToken } }'), undefined);
    // mutation 10 + login @cost(weight: 20) + a scalar 0.
    expect(result).not.toBeInstanceOf(Error);
    expect((result as PricedOperation).estimate({})).toBe(30);
  });
});
