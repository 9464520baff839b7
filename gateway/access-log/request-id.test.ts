import { describe, expect, it } from 'vitest';

import { MAX_REQUEST_ID_LENGTH, requestIdFrom } from './request-id.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('requestIdFrom', () => {
  it('keeps a well-formed incoming id', () => {
    expect(requestIdFrom('lb-2026.12.01:abc/DEF+1=')).toBe('lb-2026.12.01:abc/DEF+1=');
    expect(requestIdFrom('a'.repeat(MAX_REQUEST_ID_LENGTH))).toBe('a'.repeat(MAX_REQUEST_ID_LENGTH));
  });

  it('replaces a missing, too long or ill-formed id with a new UUID', () => {
    for (const incoming of [null, undefined, '', 'a'.repeat(MAX_REQUEST_ID_LENGTH + 1), 'has space', 'quote"', 'new\nline', '{"json":1}']) {
      expect(requestIdFrom(incoming)).toMatch(UUID);
    }
    expect(requestIdFrom(null)).not.toBe(requestIdFrom(null));
  });
});
