import { describe, expect, it } from 'vitest';

import { StopSequences } from './stop-sequences.js';

/** Feeds `tokens` through the cutter and answers what it lets out, token by token. */
function cut(stops: string[], tokens: string[]): string[] {
  const cutter = new StopSequences(stops);
  const out: string[] = [];
  for (const token of tokens) {
    out.push(...cutter.push(token));
    if (cutter.stopped) return out;
  }
  return [...out, ...cutter.flush()];
}

describe('StopSequences', () => {
  it('passes every token through when there is no stop sequence', () => {
    expect(cut([], ['a', ' b', ' c'])).toEqual(['a', ' b', ' c']);
  });

  it('ends before a stop sequence inside one token, cutting that token', () => {
    expect(cut(['END'], ['one', ' twoEND three', ' four'])).toEqual(['one', ' two']);
  });

  it('ends before a stop sequence spread over several tokens, never letting its start out', () => {
    expect(cut(['the sea'], ['to', ' the', ' se', 'a', ' again'])).toEqual(['to', ' ']);
  });

  it('releases held tokens once they turn out not to start a stop sequence', () => {
    expect(cut(['the sea'], ['to', ' the', ' town', ' at', ' dawn'])).toEqual(['to', ' the', ' town', ' at', ' dawn']);
  });

  it('ends at the earliest of several stop sequences', () => {
    expect(cut(['b', 'a'], ['x', 'ab'])).toEqual(['x']);
  });

  it('lets out what it held when the stream ends without a stop', () => {
    expect(cut(['the sea'], ['by', ' the'])).toEqual(['by', ' the']);
  });
});
