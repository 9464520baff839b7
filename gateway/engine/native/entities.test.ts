import type { FetchDataRewrite, QueryPlanSelectionNode } from '@apollo/query-planner';
import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';

import { type JsonObject, RepresentationIndex, representationOf } from './entities.js';

const schema = buildSchema(/* GraphQL */ `
  interface Node { id: ID! }
  type Product implements Node { id: ID! upc: String sku: Int }
  type User implements Node { id: ID! }
  type Query { node: Node }
`);

const fields = (...names: string[]): QueryPlanSelectionNode[] => names.map((name) => ({ kind: 'Field', name }));
const on = (typeCondition: string, ...names: string[]): QueryPlanSelectionNode => ({ kind: 'InlineFragment', typeCondition, selections: fields(...names) });

const entities: JsonObject[] = [
  { __typename: 'Product', upc: '1', sku: 7 },
  { __typename: 'Product', upc: '1', sku: 7, name: 'extra fields are not in the representation' },
  { __typename: 'Product', upc: '1', sku: 8 },
  { __typename: 'Product', upc: '1:s1', sku: 7 },
  { __typename: 'Product', upc: '1', sku: null },
  { __typename: 'Product', upc: '1', sku: Number.NaN },
  { __typename: 'Product', upc: 'é\u{1F600}', sku: -0 },
  { __typename: 'Product', upc: 'é\u{1F600}', sku: 0 },
  { __typename: 'Product', upc: '1' },
  { __typename: 'Product', upc: true, sku: 1e21 },
  { __typename: 'Product', upc: ['a list'], sku: 7 },
  // Joined into one string without lengths, these two would read the same.
  { __typename: 'Product', upc: 'x', id: 'id:y' },
  { __typename: 'Product', upc: 'xid:', id: 'y' },
  { __typename: 'User', id: '1' },
  { __typename: '', upc: '1', sku: 7 },
  { upc: '1', sku: 7 },
];

/** Per entity: the representation number the index gave it, or null when it was left out. */
function numbered(requires: QueryPlanSelectionNode[], inputRewrites?: FetchDataRewrite[]): (number | null)[] {
  const index = new RepresentationIndex(schema, requires, inputRewrites);
  entities.forEach((entity, i) => index.add(entity, i));
  const numbers: (number | null)[] = entities.map(() => null);
  index.owners.forEach((owners, n) => owners.forEach((owner) => (numbers[owner] = n)));
  return numbers;
}

describe('RepresentationIndex', () => {
  it('numbers entities alike exactly when their representations are equal as JSON, and leaves out those without one', () => {
    const requiresSets = [
      [on('Product', '__typename', 'upc', 'sku')],
      [on('Product', '__typename', 'upc', 'id')],
      [on('Product', '__typename', 'upc', 'sku'), on('User', '__typename', 'id')],
      // Two fragments that both apply to a Product merge into one representation.
      [on('Node', '__typename', 'id'), on('Product', '__typename', 'upc')],
      // Not flat: compared by JSON only.
      [on('Product', '__typename', 'upc'), ...fields('sku')],
    ];
    for (const requires of requiresSets) {
      const json = entities.map((entity) => {
        const representation = representationOf(schema, entity, requires);
        return representation?.__typename ? JSON.stringify(representation) : null;
      });
      const numbers = numbered(requires);
      entities.forEach((_, a) => {
        expect(numbers[a] === null, JSON.stringify(entities[a])).toBe(json[a] === null);
        entities.forEach((__, b) => {
          if (json[a] !== null && json[b] !== null) expect(numbers[a] === numbers[b]).toBe(json[a] === json[b]);
        });
      });
    }
  });

  it('sends the representations with input rewrites applied, one per distinct result', () => {
    const rewrite: FetchDataRewrite = { kind: 'ValueSetter', path: ['... on Product', '__typename'], setValueTo: 'Item' };
    const index = new RepresentationIndex(schema, [on('Product', '__typename', 'upc')], [rewrite]);
    index.add({ __typename: 'Product', upc: '1' }, 0);
    index.add({ __typename: 'Product', upc: '1', sku: 3 }, 1);
    expect(index.representations).toEqual([{ __typename: 'Item', upc: '1' }]);
    expect(index.owners).toEqual([[0, 1]]);
  });
});
