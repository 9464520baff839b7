import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { manifestOf, readTrustedDocuments, sha256Hex } from './manifest.js';

describe('trusted documents manifest', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'manifest-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes Apollo\'s persisted query list, ids the SHA-256 of each printed body', () => {
    const manifest = manifestOf(['query B { me { id } }', 'subscription A { usageLive { requests } }']);
    expect(manifest).toMatchObject({ format: 'apollo-persisted-query-manifest', version: 1 });
    expect(manifest.operations.map((op) => [op.name, op.type])).toEqual([['A', 'subscription'], ['B', 'query']]);
    for (const op of manifest.operations) expect(op.id).toBe(sha256Hex(op.body));
    expect(() => manifestOf(['{ me { id } }'])).toThrow(/one named operation/);
  });

  it('reads Apollo\'s list and the client preset\'s { id: body } map, and refuses anything else', async () => {
    const body = 'query Me {\n  me {\n    id\n  }\n}';
    const apollo = join(dir, 'apollo.json');
    await writeFile(apollo, JSON.stringify(manifestOf([body])));
    const preset = join(dir, 'preset.json');
    await writeFile(preset, JSON.stringify({ [sha256Hex(body)]: body }));
    for (const file of [apollo, preset]) {
      const documents = await readTrustedDocuments(file);
      expect(documents.bodyOf(sha256Hex(body))).toBe(body);
      expect(documents.hasName('Me')).toBe(true);
      expect(documents.size).toBe(1);
    }
    const other = join(dir, 'other.json');
    await writeFile(other, JSON.stringify({ operations: 3 }));
    await expect(readTrustedDocuments(other)).rejects.toThrow(/neither/);
  });
});
