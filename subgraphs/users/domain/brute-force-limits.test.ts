import { describe, expect, it } from 'vitest';

import { progressiveDelayMs } from './brute-force-limits.js';

describe('progressiveDelayMs', () => {
  it('is free for the first three failures on an account, then doubles from 250 ms up to 4 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 50].map(progressiveDelayMs)).toEqual([0, 0, 0, 250, 500, 1_000, 2_000, 4_000, 4_000, 4_000]);
  });
});
