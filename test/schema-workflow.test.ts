import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { compose, readSupergraphConfig } from '../lib/compose.js';
import { bareEnv, repoRoot, runEntry } from './spawn.js';

const configFile = path.join(repoRoot, 'supergraph.yaml');

describe('schema workflow: the published API schema and breaking-change checks', () => {
  let dir: string;
  let apiSchemaSdl: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lotabots-schema-'));
    apiSchemaSdl = compose(await readSupergraphConfig(configFile)).apiSchemaSdl;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the committed schema.graphql is the composed API schema, without federation internals', async () => {
    expect(await readFile(path.join(repoRoot, 'schema.graphql'), 'utf8')).toBe(apiSchemaSdl);
    expect(apiSchemaSdl).toContain('type Query {');
    expect(apiSchemaSdl).not.toMatch(/join__|link__|@link|@join|@authenticated|@requiresScopes|_entities|_service/);
  });

  const check = (released: string) => runEntry('scripts/schema.ts', { env: bareEnv(), args: ['check', '--config', configFile, '--released', released] });

  it('schema:check exits 1 and names a breaking change (a released field removed)', async () => {
    const released = path.join(dir, 'with-extra-field.graphql');
    await writeFile(released, apiSchemaSdl.replace('type Query {', 'type Query {\n  retiredField: String'));
    const result = await check(released);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^BREAKING\s+Field 'retiredField' was removed from object type 'Query'$/m);
  });

  it('schema:check exits 0 on additions only, listing them as non-breaking', async () => {
    const released = path.join(dir, 'without-a-field.graphql');
    const withoutModels = apiSchemaSdl.replace(/\n\s*"""Models the workers can serve\."""\n\s*models: \[Model!\]\n/, '\n');
    expect(withoutModels).not.toBe(apiSchemaSdl);
    await writeFile(released, withoutModels);
    const result = await check(released);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^NON_BREAKING\s+Field 'models' was added to object type 'Query'$/m);
    expect(result.stdout).toContain('0 breaking');
  });

  it('schema:release records the composed API schema, after which the check finds no change', async () => {
    const released = path.join(dir, 'released.graphql');
    const release = await runEntry('scripts/schema.ts', { env: bareEnv(), args: ['release', '--config', configFile, '--released', released] });
    expect(release.code).toBe(0);
    expect(await readFile(released, 'utf8')).toBe(apiSchemaSdl);
    const result = await check(released);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('0 change(s)');
  });
});
