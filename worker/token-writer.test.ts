import { describe, expect, it } from 'vitest';

import type { JobEvent } from '../lib/inference/index.js';
import { createTokenWriter } from './token-writer.js';

type TokenEvent = Extract<JobEvent, { type: 'token' }>;
const token = (index: number): TokenEvent => ({ type: 'token', index, text: `t${index}` });

/** A `write` whose calls the test answers one by one. */
function manualWrite() {
  const calls: Array<{ batch: number[]; answer: (seq: number | null) => void; fail: (error: Error) => void }> = [];
  let arrived: (() => void) | null = null;
  const write = (batch: TokenEvent[]) =>
    new Promise<number | null>((resolve, reject) => {
      calls.push({ batch: batch.map((t) => t.index), answer: resolve, fail: reject });
      arrived?.();
    });
  /** Resolves once `count` calls have been made. */
  const called = async (count: number) => {
    while (calls.length < count) await new Promise<void>((resolve) => (arrived = resolve));
  };
  return { write, calls, called };
}

describe('token writer', () => {
  it('sends the first token at once and the ones that arrive meanwhile together, one call at a time, in order', async () => {
    const { write, calls, called } = manualWrite();
    const writer = createTokenWriter(write);
    expect(await writer.push(token(0))).toBe(true);
    for (let i = 1; i < 4; i++) expect(await writer.push(token(i))).toBe(true);
    expect(calls.map((call) => call.batch)).toEqual([[0]]);
    calls[0]!.answer(1);
    await called(2);
    expect(calls[1]!.batch).toEqual([1, 2, 3]);
    await writer.push(token(4));
    const flushed = writer.flush();
    calls[1]!.answer(4);
    await called(3);
    expect(calls[2]!.batch).toEqual([4]);
    calls[2]!.answer(5);
    expect(await flushed).toBe(true);
  });

  it('writes nothing more once a call is refused, and says so', async () => {
    const { write, calls, called } = manualWrite();
    const writer = createTokenWriter(write);
    await writer.push(token(0));
    await writer.push(token(1));
    calls[0]!.answer(null);
    expect(await writer.flush()).toBe(false);
    expect(await writer.push(token(2))).toBe(false);
    await called(1);
    expect(calls).toHaveLength(1);
  });

  it("rethrows a failed call's error from the next push or flush", async () => {
    const { write, calls } = manualWrite();
    const writer = createTokenWriter(write);
    await writer.push(token(0));
    calls[0]!.fail(new Error('redis down'));
    await expect(writer.flush()).rejects.toThrow('redis down');
    await expect(writer.push(token(1))).rejects.toThrow('redis down');
  });
});
