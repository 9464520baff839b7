import { describe, expect, it } from 'vitest';

import { createReadCache } from './read-cache.js';

describe('createReadCache', () => {
  const setUp = (max = 10) => {
    const clock = { now: 0 };
    return { clock, cache: createReadCache<string, number>({ ttlMs: 100, max, nowMs: () => clock.now }) };
  };

  it('keeps what `keep` allows for ttlMs, and reads again after', async () => {
    const { clock, cache } = setUp();
    expect(await cache.read('a', async () => 1, () => true)).toBe(1);
    expect(await cache.read('b', async () => 9, (value) => value < 5)).toBe(9);
    expect(cache.get('a')).toBe(1);
    expect(cache.get('b')).toBeUndefined();
    clock.now = 99;
    expect(cache.get('a')).toBe(1);
    clock.now = 100;
    expect(cache.get('a')).toBeUndefined();
  });

  it('forgets one key or all at once, and does not keep an answer read across a forget', async () => {
    const { cache } = setUp();
    await cache.read('a', async () => 1, () => true);
    await cache.read('b', async () => 2, () => true);
    cache.forget('a');
    expect([cache.get('a'), cache.get('b')]).toEqual([undefined, 2]);
    cache.forget();
    expect(cache.get('b')).toBeUndefined();

    let answer!: (value: number) => void;
    const reading = cache.read('c', () => new Promise<number>((resolve) => (answer = resolve)), () => true);
    cache.forget('another key');
    answer(3);
    expect(await reading).toBe(3);
    expect(cache.get('c')).toBeUndefined();
  });

  it('holds at most `max` keys, the oldest going first', async () => {
    const { cache } = setUp(2);
    for (const key of ['a', 'b', 'c']) await cache.read(key, async () => 1, () => true);
    expect(['a', 'b', 'c'].map((key) => cache.get(key))).toEqual([undefined, 1, 1]);
  });
});
