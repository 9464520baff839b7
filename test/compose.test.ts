import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { composeSupergraph, CompositionError, readSupergraphConfig } from '../lib/compose.js';
import { SUBGRAPH_NAMES } from '../lib/subgraph-list.js';
import { bareEnv, repoRoot, runEntry } from './spawn.js';

const configFile = path.join(repoRoot, 'supergraph.yaml');

describe('composition', () => {
  it('composes our four subgraphs, and the committed supergraph.graphql is up to date', async () => {
    const subgraphs = await readSupergraphConfig(configFile);
    expect(subgraphs.map((s) => s.name)).toEqual([...SUBGRAPH_NAMES]);
    const sdl = composeSupergraph(subgraphs);
    expect(sdl).toContain('@join__graph(name: "autonomy"');
    expect(await readFile(path.join(repoRoot, 'supergraph.graphql'), 'utf8')).toBe(sdl);
  });

  it('reports each composition error with its code', async () => {
    const subgraphs = await readSupergraphConfig(configFile);
    // The usage subgraph redeclares a field users owns, with another type: not composable.
    const broken = subgraphs.map((s) =>
      s.name === 'usage' ? { ...s, typeDefs: s.typeDefs.replace('type User @key(fields: "id") {', 'type User @key(fields: "id") {\n  email: Int') } : s,
    );
    expect(() => composeSupergraph(broken)).toThrow(CompositionError);
    expect(() => composeSupergraph(broken)).toThrow(/\[FIELD_TYPE_MISMATCH\] .*"User\.email"/);
  });

  it('npm run compose writes the SDL, and exits 1 with the errors when composition fails', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lotabots-compose-'));
    try {
      const out = path.join(dir, 'supergraph.graphql');
      const ok = await runEntry('scripts/compose.ts', { env: bareEnv(), args: ['--config', configFile, '--out', out] });
      expect(ok.code).toBe(0);
      expect(await readFile(out, 'utf8')).toContain('schema');

      await writeFile(path.join(dir, 'a.graphql'), 'type Query { a: String }');
      await writeFile(path.join(dir, 'b.graphql'), 'type Query { a: Int }');
      const yaml = `subgraphs:\n  a:\n    routing_url: http://a/graphql\n    schema: { file: a.graphql }\n  b:\n    routing_url: http://b/graphql\n    schema: { file: b.graphql }\n`;
      await writeFile(path.join(dir, 'broken.yaml'), yaml);
      const failed = await runEntry('scripts/compose.ts', { env: bareEnv(), args: ['--config', path.join(dir, 'broken.yaml'), '--out', out] });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/^composition failed with \d+ error\(s\):\n {2}\[/);
      expect(failed.stderr).not.toContain('    at ');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
