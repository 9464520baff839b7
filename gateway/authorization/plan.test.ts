import { buildSchema, defaultFieldResolver, execute, type ExecutionResult, getNamedType, parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';

import { linkedDirectiveNameIn } from '../engine/supergraph-links.js';
import { mergeIntoResult, resultWithoutExecution } from './apply.js';
import { planFilter, TYPENAME_ALIAS } from './plan.js';
import { type CallerView, checkRequirement, readAuthorizationRequirements } from './requirements.js';

// A supergraph-shaped SDL that renames both directives through its @link (`as:` and
// `import:`), so name resolution is exercised too. It doubles as the API schema here.
const sdl = /* GraphQL */ `
  schema
    @link(url: "https://specs.apollo.dev/link/v1.0")
    @link(url: "https://specs.apollo.dev/authenticated/v0.1", as: "signedIn", for: SECURITY)
    @link(url: "https://specs.apollo.dev/requiresScopes/v0.1", import: [{ name: "@requiresScopes", as: "@scoped" }], for: SECURITY) {
    query: Query
  }
  directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
  scalar link__Import
  enum link__Purpose { SECURITY EXECUTION }
  directive @signedIn on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
  directive @scoped(scopes: [[String!]!]!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM

  type Query {
    item: Item
    strictItem: Item!
    grid: [[Item!]]!
    items: [Item]
    things: [Thing!]
    secret: Secret
    level: Level
  }
  scalar Secret @signedIn
  enum Level @scoped(scopes: [["levels"]]) { LOW HIGH }
  type Item {
    id: ID!
    name: String
    hidden: String! @scoped(scopes: [["a", "b"], ["c"]]) @scoped(scopes: [["d"]])
    note: String @signedIn
    child: Item
  }
  interface Thing { id: ID! }
  type Gadget implements Thing { id: ID! code: String! @scoped(scopes: [["gadgets"]]) label: String @scoped(scopes: [["gadgets"]]) }
  type Widget implements Thing { id: ID! code: String! label: String }
`;

const schema = buildSchema(sdl);
const requirements = readAuthorizationRequirements(sdl, linkedDirectiveNameIn(sdl));

const item = (id: string) => ({ id, name: `n${id}`, hidden: `h${id}`, note: `note${id}`, child: { id: `${id}.c`, name: 'child', hidden: 'h', note: 'n', child: null } });
const rootValue = {
  item: item('1'),
  strictItem: item('2'),
  grid: [[item('3'), item('4')], [item('5')], []],
  items: [item('6'), null, item('7')],
  things: [
    { __typename: 'Gadget', id: 'g', code: 'G', label: 'gadget' },
    { __typename: 'Widget', id: 'w', code: 'W', label: 'widget' },
  ],
  secret: 's3cr3t',
  level: 'HIGH',
};

const anonymous: CallerView = { authenticated: false, scopes: new Set() };
const signedIn = (...scopes: string[]): CallerView => ({ authenticated: true, scopes: new Set(scopes) });

/**
 * The filtered operation executed for real and merged, next to the reference: the original
 * operation executed with every field the caller may not see resolving to null, which
 * GraphQL's own null propagation then handles.
 */
async function run(query: string, caller: CallerView, variables: Record<string, unknown> = {}) {
  const document = parse(query);
  const plan = planFilter(schema, requirements, document, undefined, caller)!;
  const filtered = plan.execute
    ? mergeIntoResult(plan, (await execute({ schema, document: plan.document, rootValue, variableValues: variables })) as ExecutionResult, variables)
    : resultWithoutExecution(plan, variables);
  const reference = (await execute({
    schema,
    document,
    rootValue,
    variableValues: variables,
    fieldResolver: (source, args, context, info) => {
      const field = info.parentType.getFields()[info.fieldName]!;
      const requirement = requirements.fieldRequirement(info.parentType.name, info.fieldName, getNamedType(field.type).name);
      return checkRequirement(requirement, caller) ? null : defaultFieldResolver(source, args, context, info);
    },
  })) as ExecutionResult;
  return {
    plan,
    data: filtered.data,
    errors: (filtered.errors ?? []).map((e) => ({ message: e.message, path: e.path, code: e.extensions.code })),
    reference: reference.data,
    sent: plan.execute ? print(plan.document) : null,
  };
}

describe('readAuthorizationRequirements', () => {
  it('resolves directive names renamed by @link as: and import:', () => {
    expect(requirements.directiveNames).toEqual({ authenticated: 'signedIn', requiresScopes: 'scoped' });
    expect(requirements.active).toBe(true);
  });

  it('is inactive for a supergraph without either directive', () => {
    const bare = 'schema @link(url: "https://specs.apollo.dev/link/v1.0") { query: Query } type Query { a: Int }';
    expect(readAuthorizationRequirements(bare, linkedDirectiveNameIn(bare)).active).toBe(false);
  });

  it('combines several @requiresScopes with AND, each OR of ANDs', () => {
    const hidden = requirements.fieldRequirement('Item', 'hidden', 'String');
    expect(hidden).toEqual({ authenticated: false, scopes: [[['a', 'b'], ['c']], [['d']]] });
    expect(checkRequirement(hidden, signedIn('c', 'd'))).toBeNull();
    expect(checkRequirement(hidden, signedIn('a', 'b', 'd'))).toBeNull();
    expect(checkRequirement(hidden, signedIn('a', 'd'))).toEqual({ code: 'FORBIDDEN', missing: 'requires scopes (a and b) or c' });
    expect(checkRequirement(hidden, signedIn('c'))).toEqual({ code: 'FORBIDDEN', missing: 'requires scope d' });
    expect(checkRequirement(hidden, anonymous)).toEqual({ code: 'UNAUTHENTICATED', missing: 'requires scopes (a and b) or c and scope d' });
  });
});

describe('planFilter + mergeIntoResult', () => {
  it('returns null for a removed nullable field and keeps the rest', async () => {
    const r = await run('{ item { id note name } }', anonymous);
    expect(r.data).toEqual({ item: { id: '1', name: 'n1', note: null } });
    expect(r.data).toEqual(r.reference);
    expect(r.errors).toEqual([{ message: 'Unauthorized field or type: Item.note (requires authentication)', path: ['item', 'note'], code: 'UNAUTHENTICATED' }]);
    expect(r.sent).not.toContain('note');
  });

  it('applies scalar- and enum-level requirements to the fields returning them', async () => {
    const r = await run('{ secret level }', signedIn());
    expect(r.data).toEqual({ secret: 's3cr3t', level: null });
    expect(r.errors.map((e) => e.message)).toEqual(['Unauthorized field or type: Query.level (requires scope levels)']);
  });

  it('propagates null from a non-null field through nested lists like GraphQL', async () => {
    // grid: [[Item!]]! — each inner list holding an item becomes null; the empty one stays [].
    const r = await run('{ grid { id hidden } }', signedIn('a'));
    expect(r.data).toEqual({ grid: [null, null, []] });
    expect(r.data).toEqual(r.reference);
    expect(r.errors.map((e) => e.path)).toEqual([['grid', 'hidden']]);
  });

  it('nulls nullable list elements and keeps null elements null', async () => {
    const r = await run('{ items { id hidden } }', signedIn());
    expect(r.data).toEqual({ items: [null, null, null] });
    expect(r.data).toEqual(r.reference);
  });

  it('propagates to the root through non-null fields without executing', async () => {
    const r = await run('{ item { id } strictItem { id hidden } }', signedIn());
    expect(r.plan.execute).toBe(false);
    expect(r.data).toBeNull();
    expect(r.reference).toBeNull();
  });

  it('drops a nullable ancestor before executing when its null is certain', async () => {
    const r = await run('{ item { id child { id hidden } } }', signedIn());
    expect(r.data).toEqual({ item: { id: '1', child: null } });
    expect(r.data).toEqual(r.reference);
    expect(r.sent).not.toContain('child');
  });

  it('keeps a selection valid when every field in it is removed, and strips the helper', async () => {
    const r = await run('{ item { note } }', anonymous);
    expect(r.sent).toContain(`${TYPENAME_ALIAS}: __typename`);
    expect(r.data).toEqual({ item: { note: null } });
    expect(r.data).toEqual(r.reference);
  });

  it('nulls a field selected in a fragment on one implementation only for objects of that type', async () => {
    const r = await run('{ things { id ... on Gadget { label } ... on Widget { label } } }', signedIn());
    expect(r.data).toEqual({ things: [{ id: 'g', label: null }, { id: 'w', label: 'widget' }] });
    expect(r.data).toEqual(r.reference);
    expect(r.sent).toContain(`${TYPENAME_ALIAS}: __typename`);
    expect(JSON.stringify(r.data)).not.toContain(TYPENAME_ALIAS);
  });

  it('propagates null from a fragment on one implementation through the objects of that type', async () => {
    // code is non-null: the Gadget becomes null, and so does the list, as its elements are non-null.
    const r = await run('{ things { id ... on Gadget { code } ... on Widget { code } } }', signedIn());
    expect(r.data).toEqual({ things: null });
    expect(r.data).toEqual(r.reference);
  });

  it('follows aliases and named fragments spread in several places', async () => {
    const r = await run(
      `{ first: item { ...F } again: item { ...F } }
       fragment F on Item { id secretNote: note }`,
      anonymous,
    );
    expect(r.data).toEqual({ first: { id: '1', secretNote: null }, again: { id: '1', secretNote: null } });
    expect(r.data).toEqual(r.reference);
    expect(r.errors.map((e) => e.path)).toEqual([['first', 'secretNote'], ['again', 'secretNote']]);
    expect(r.sent).not.toContain('fragment');
  });

  it('evaluates @skip and @include per request, on fields and fragments', async () => {
    const query = `query ($a: Boolean!, $b: Boolean!) {
      item { id note @include(if: $a) ... on Item @skip(if: $b) { child { id hidden } } }
    }`;
    const skipped = await run(query, anonymous, { a: false, b: true });
    expect(skipped.data).toEqual({ item: { id: '1' } });
    expect(skipped.data).toEqual(skipped.reference);
    expect(skipped.errors).toEqual([]);
    const included = await run(query, anonymous, { a: true, b: false });
    expect(included.data).toEqual({ item: { id: '1', note: null, child: null } });
    expect(included.data).toEqual(included.reference);
    expect(included.errors.map((e) => e.path)).toEqual([['item', 'note'], ['item', 'child', 'hidden']]);
  });

  it('drops variables only the removed fields used', async () => {
    const r = await run('query ($x: Boolean!) { item { id note @include(if: $x) } }', anonymous, { x: true });
    expect(r.sent).not.toContain('$x');
  });
});

describe('mergeIntoResult on shared data', () => {
  it('leaves the executed data as it was, so every request holding it merges the same answer', async () => {
    const query = '{ grid { id hidden } things { id ... on Gadget { label } ... on Widget { label } } item { id note } }';
    const plan = planFilter(schema, requirements, parse(query), undefined, signedIn('a'))!;
    const executed = (await execute({ schema, document: plan.document, rootValue })) as ExecutionResult;
    const before = structuredClone(executed.data);
    const first = mergeIntoResult(plan, executed, {});
    expect(executed.data).toEqual(before);
    expect(JSON.stringify(executed.data)).toContain(TYPENAME_ALIAS);
    expect(first.data).toEqual({ grid: [null, null, []], things: [{ id: 'g', label: null }, { id: 'w', label: 'widget' }], item: { id: '1', note: 'note1' } });
    expect(mergeIntoResult(plan, executed, {})).toEqual(first);
  });
});
