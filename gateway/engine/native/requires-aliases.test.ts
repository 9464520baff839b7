import { parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';

import { aliasRequiredCollisions, fieldsRequiredWithArguments } from './requires-aliases.js';

const supergraphFragment = /* GraphQL */ `
  type Product @join__type(graph: SHIPPING, key: "upc") {
    upc: ID!
    price(currency: Currency!): Int! @join__field(graph: SHIPPING, external: true)
    shippingEur: Int! @join__field(graph: SHIPPING, requires: "price(currency: EUR) upc")
  }
`;

describe('fieldsRequiredWithArguments', () => {
  it('lists only the required fields selected with arguments', () => {
    expect([...fieldsRequiredWithArguments(supergraphFragment)]).toEqual(['price']);
  });
});

describe('aliasRequiredCollisions', () => {
  const required = new Set(['price']);

  it('leaves documents without a collision alone', () => {
    expect(aliasRequiredCollisions(parse('{ products { upc usd: price(currency: USD) shippingEur } }'), required)).toBeUndefined();
  });

  it('renames colliding fields, skipping internal names the client already uses', () => {
    const aliased = aliasRequiredCollisions(parse('{ products { __lb_alias_0: upc price(currency: USD) shippingEur } }'), required)!;
    expect(print(aliased.document)).toContain('__lb_alias_1: price(currency: USD)');
    expect([...aliased.clientNames]).toEqual([['__lb_alias_1', 'price']]);
  });
});
