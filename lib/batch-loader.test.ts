import { describe, expect, it } from 'vitest';

import { createBatchLoader, groupBy } from './batch-loader.js';

/** A loader over an in-memory table that records each batch it is asked for. */
function recordingLoader(table: Record<string, string>) {
  const batches: string[][] = [];
  const load = createBatchLoader<string, string | null>({
    async loadMany(ids) {
      batches.push(ids);
      return new Map(ids.flatMap((id) => (id in table ? [[id, table[id]!] as const] : [])));
    },
    missing: null,
  });
  return { load, batches };
}

describe('createBatchLoader', () => {
  it('answers every load of one tick with one batch of distinct keys, each key with its own value', async () => {
    const { load, batches } = recordingLoader({ a: 'row a', b: 'row b' });
    const values = await Promise.all(['a', 'b', 'a', 'missing', 'b'].map(load));
    expect(values).toEqual(['row a', 'row b', 'row a', null, 'row b']);
    expect(batches).toEqual([['a', 'b', 'missing']]);
  });

  it('groups keys by their id', async () => {
    const batches: Array<Array<{ user: string; n: number }>> = [];
    const load = createBatchLoader<{ user: string; n: number }, string>({
      idOf: ({ user, n }) => `${user}:${n}`,
      async loadMany(keys) {
        batches.push(keys);
        return new Map(keys.map(({ user, n }) => [`${user}:${n}`, `${user} × ${n}`]));
      },
      missing: '',
    });
    const values = await Promise.all([load({ user: 'a', n: 1 }), load({ user: 'a', n: 1 }), load({ user: 'a', n: 2 })]);
    expect(values).toEqual(['a × 1', 'a × 1', 'a × 2']);
    expect(batches).toEqual([[{ user: 'a', n: 1 }, { user: 'a', n: 2 }]]);
  });

  it('remembers nothing past its batch: a later load reads again and sees a change', async () => {
    const table: Record<string, string> = { a: 'before' };
    const { load, batches } = recordingLoader(table);
    expect(await load('a')).toBe('before');
    table.a = 'after';
    expect(await load('a')).toBe('after');
    expect(batches).toEqual([['a'], ['a']]);
  });

  it('fails every load of a batch whose query fails, and the next batch runs afresh', async () => {
    let fail = true;
    const load = createBatchLoader<string, string>({
      async loadMany(ids) {
        if (fail) throw new Error('database down');
        return new Map(ids.map((id) => [id, id]));
      },
      missing: '',
    });
    const results = await Promise.allSettled([load('a'), load('b')]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await load('a')).toBe('a');
  });
});

describe('groupBy', () => {
  it('keeps each group in the order of the rows', () => {
    const rows = [{ user: 'a', n: 1 }, { user: 'b', n: 2 }, { user: 'a', n: 3 }];
    expect(groupBy(rows, (row) => row.user)).toEqual(new Map([['a', [rows[0], rows[2]]], ['b', [rows[1]]]]));
  });
});
