import { Writable } from 'node:stream';

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

import { throttledWarning } from './throttled-warning.js';

describe('throttledWarning', () => {
  it('logs the first failure of an interval and counts the rest into the next line', async () => {
    const lines: Array<{ msg: string; unlogged: number }> = [];
    const logger = pino(new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
    const warn = throttledWarning(logger, 'Redis unavailable', 50);
    for (let i = 0; i < 5; i++) warn(new Error('down'));
    const start = Date.now();
    while (Date.now() - start < 60) await new Promise((resolve) => setTimeout(resolve, 10));
    warn(new Error('down'));
    expect(lines.map(({ msg, unlogged }) => ({ msg, unlogged }))).toEqual([
      { msg: 'Redis unavailable', unlogged: 0 },
      { msg: 'Redis unavailable', unlogged: 4 },
    ]);
  });
});
