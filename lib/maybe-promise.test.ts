import { describe, expect, it } from 'vitest';

import { thenMaybe } from './maybe-promise.js';

describe('thenMaybe', () => {
  it('goes on at once with a value, and after the promise settles with a promise', async () => {
    expect(thenMaybe(2, (value) => value * 3)).toBe(6);
    const later = thenMaybe(Promise.resolve(2), (value) => value * 3);
    expect(later).toBeInstanceOf(Promise);
    expect(await later).toBe(6);
    await expect(thenMaybe(Promise.reject(new Error('no')), () => 0)).rejects.toThrow('no');
  });
});
