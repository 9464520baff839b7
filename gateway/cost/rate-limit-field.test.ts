import { parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';

import type { ThrottleStatus } from './budget.js';
import { rateLimitData, splitRateLimitFields } from './rate-limit-field.js';

const status: ThrottleStatus = { maximumAvailable: 1_000, currentlyAvailable: 975, restoreRate: 50, resetAtMs: Date.parse('2026-01-01T00:00:00.500Z') };

const split = (document: string) => {
  const result = splitRateLimitFields(parse(document), undefined);
  if (!result) throw new Error('no rateLimit found');
  return result;
};
const rest = (document: string) => {
  const trimmed = split(document).document;
  return trimmed && print(trimmed).replace(/\s+/g, ' ');
};

describe('the rateLimit root field, answered by the gateway', () => {
  it('is found directly on the root, and the rest of the query runs without it', () => {
    expect(rest('{ models { id } rateLimit { remaining } }')).toBe('{ models { id } }');
    expect(rateLimitData(split('{ budget: rateLimit { limit cost left: remaining } }'), 25, status, {})).toEqual({ budget: { limit: 1_000, cost: 25, left: 975 } });
  });

  it('regression: is found inside inline fragments and named fragments on the root (it answered null there)', () => {
    const inline = '{ models { id } ... on Query { rateLimit { remaining } plans { id } } }';
    expect(rest(inline)).toBe('{ models { id } ... on Query { plans { id } } }');
    expect(rateLimitData(split(inline), 25, status, {})).toEqual({ rateLimit: { remaining: 975 } });

    const named = 'query Q { ...Budget models { id } } fragment Budget on Query { rateLimit { limit resetAt } }';
    // The fragment is left with nothing to run: it goes, and so does its now unused definition.
    expect(rest(named)).toBe('query Q { models { id } }');
    expect(rateLimitData(split(named), 25, status, {})).toEqual({ rateLimit: { limit: 1_000, resetAt: '2026-01-01T00:00:00.500Z' } });

    const nested = 'query Q { ...Outer } fragment Outer on Query { ... on Query { rateLimit { cost } } }';
    expect(rest(nested)).toBeNull();
    expect(rateLimitData(split(nested), 0, status, {})).toEqual({ rateLimit: { cost: 0 } });
  });

  it('answers fragments inside the rateLimit selection, and keeps a fragment another operation of the document spreads', () => {
    const inner = 'query Q { ...Both } fragment Both on Query { rateLimit { ...Fields } models { id } } fragment Fields on RateLimit { limit ... on RateLimit { remaining } }';
    expect(rest(inner)).toBe('query Q { ... on Query { models { id } } }');
    expect(rateLimitData(split(inner), 25, status, {})).toEqual({ rateLimit: { limit: 1_000, remaining: 975 } });

    const twoOperations = parse('query A { ...F } query B { ...F } fragment F on Query { rateLimit { cost } models { id } }');
    const trimmed = splitRateLimitFields(twoOperations, 'A')!.document!;
    expect(print(trimmed).replace(/\s+/g, ' ')).toBe('query A { ... on Query { models { id } } } query B { ...F } fragment F on Query { rateLimit { cost } models { id } }');
  });

  it('applies @skip/@include on the field and on the fragments around it', () => {
    const document = 'query($on: Boolean!) { a: rateLimit @include(if: $on) { cost } ... @skip(if: $on) { b: rateLimit { cost } } models { id } }';
    expect(rateLimitData(split(document), 5, status, { on: true })).toEqual({ a: { cost: 5 } });
    expect(rateLimitData(split(document), 5, status, { on: false })).toEqual({ b: { cost: 5 } });
  });

  it('is only the root field: one nested in another field, or in a mutation, is not taken out', () => {
    expect(splitRateLimitFields(parse('{ me { rateLimit { cost } } }'), undefined)).toBeNull();
    expect(splitRateLimitFields(parse('mutation { rateLimit { cost } }'), undefined)).toBeNull();
  });
});
