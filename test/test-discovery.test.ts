import { readdirSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import config from '../vitest.config.js';

const root = path.resolve(import.meta.dirname, '..');
const SKIPPED = new Set(['node_modules', 'dist', '.data', '.git']);

/** Every `*.test.ts` and `*.e2e.ts` in the repository, wherever it lives. */
function testFiles(dir = ''): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED.has(entry.name) ? [] : testFiles(relative);
    return /\.(test|e2e)\.ts$/.test(entry.name) ? [relative] : [];
  });
}

describe('test discovery', () => {
  it('regression: vitest runs every test file, not only those in folders listed by hand', () => {
    const { include = [], exclude = [] } = config.test ?? {};
    const runs = (file: string) => include.some((glob) => path.matchesGlob(file, glob)) && !exclude.some((glob) => path.matchesGlob(file, glob));
    const files = testFiles();
    expect(files).toContain('test/test-discovery.test.ts');
    // Where a new test may well be put next to the code it covers.
    const elsewhere = ['embedded/platform.e2e.ts', 'gateway/engine/plan.e2e.ts', 'scripts/compose.test.ts', 'bench/lib/load.test.ts', 'subgraphs/users/users.e2e.ts'];
    expect([...files, ...elsewhere].filter((file) => !runs(file))).toEqual([]);
  });
});
