import { existsSync, readdirSync, readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

import codegenConfig from '../codegen.js';
import { embeddedEnvSchema } from '../embedded/config.js';
import { TABLE_OWNERS } from '../lib/db/owners.js';
import { SUBGRAPH_NAMES, SUBGRAPHS } from '../lib/subgraph-list.js';
import { build, type K8sObject, readKustomization } from './k8s/manifests.js';

/**
 * lib/subgraph-list.ts is the one list of subgraphs; the places that cannot derive from it are
 * the README's "Adding a subgraph" checklist. Each test here is one item of that checklist.
 */

const root = new URL('..', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), 'utf8');
const foldersIn = (dir: string) =>
  readdirSync(new URL(dir, root), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
const sortedNames = [...SUBGRAPH_NAMES].sort();
const metricsPortOf = (port: number) => port + 5_400;
const readme = read('README.md');

describe('one list of subgraphs (lib/subgraph-list.ts)', () => {
  it('regression: the README checklist names every place this test checks', () => {
    const section = readme.slice(readme.indexOf('### Adding a subgraph'), readme.indexOf('## Authentication and authorization'));
    for (const place of [
      'lib/subgraph-list.ts',
      'subgraphs/<name>/',
      'embedded/platform.ts',
      'prisma/<name>/schema.prisma',
      'supergraph.yaml',
      'k8s/base/<name>.yaml',
      'k8s/base/kustomization.yaml',
      'k8s/base/gateway-config.env',
      'Dockerfile',
      'test/subgraph-list.test.ts',
    ]) {
      expect(section, place).toContain(`\`${place}`);
    }
  });

  it('regression: package.json names no subgraph by hand (one `subgraph` script, generated-code checks by glob)', () => {
    const { scripts } = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(scripts.subgraph).toBe('tsx scripts/subgraph.ts');
    for (const [script, command] of Object.entries(scripts)) {
      for (const name of SUBGRAPH_NAMES) {
        expect(script, `script ${script}`).not.toContain(`:${name}`);
        expect(command, `script ${script}`).not.toContain(`subgraphs/${name}/`);
      }
    }
  });

  it('derives the table owners, the codegen targets and the `<NAME>_PORT` settings of npm start', () => {
    expect([...TABLE_OWNERS]).toEqual([...SUBGRAPH_NAMES]);
    expect(Object.keys(codegenConfig.generates)).toEqual(SUBGRAPH_NAMES.map((name) => `subgraphs/${name}/__generated__/resolvers-types.ts`));
    const defaults = embeddedEnvSchema.parse({}) as Record<string, unknown>;
    for (const [name, { port }] of Object.entries(SUBGRAPHS)) expect(defaults[`${name.toUpperCase()}_PORT`], name).toBe(port);
  });

  it('has a folder per subgraph, and a subgraph folder per name, with the files the platform loads', () => {
    expect(foldersIn('subgraphs/')).toEqual(sortedNames);
    for (const name of SUBGRAPH_NAMES) {
      for (const file of ['schema.graphql', 'config.ts', 'context.ts', 'resolvers/mappers.ts', 'server.ts', 'main.ts', 'README.md']) {
        expect(existsSync(new URL(`subgraphs/${name}/${file}`, root)), `subgraphs/${name}/${file}`).toBe(true);
      }
    }
  });

  it.each(SUBGRAPH_NAMES)('%s: its process defaults to its port, and its metrics to port + 5400', async (name) => {
    const config = (await import(/* @vite-ignore */ new URL(`../subgraphs/${name}/config.ts`, import.meta.url).href)) as Record<string, { parse(input: object): { PORT: number; METRICS_PORT: number } }>;
    const settings = config[`${name}EnvSchema`]!.parse({});
    expect(settings.PORT).toBe(SUBGRAPHS[name].port);
    expect(settings.METRICS_PORT).toBe(metricsPortOf(SUBGRAPHS[name].port));
  });

  it('has a Prisma schema per subgraph', () => {
    expect(foldersIn('prisma/').filter((dir) => existsSync(new URL(`prisma/${dir}/schema.prisma`, root)))).toEqual(sortedNames);
  });

  it('supergraph.yaml lists the same subgraphs, in order, on their ports', () => {
    const config = parseYaml(read('supergraph.yaml')) as { subgraphs: Record<string, { routing_url: string; schema: { file: string } }> };
    expect(Object.keys(config.subgraphs)).toEqual([...SUBGRAPH_NAMES]);
    for (const [name, { port }] of Object.entries(SUBGRAPHS)) {
      expect(config.subgraphs[name]).toEqual({ routing_url: `http://127.0.0.1:${port}/graphql`, schema: { file: `./subgraphs/${name}/schema.graphql` } });
    }
  });

  it('k8s/base has a Deployment per subgraph, listed in the kustomization, and the gateway routes to each', () => {
    const baseDir = new URL('k8s/base/', root);
    const resources = readKustomization(baseDir).resources ?? [];
    const deployments = build(baseDir)
      .objects.map(({ object }) => object)
      .filter((object: K8sObject) => object.kind === 'Deployment')
      .map((object) => object.metadata.name);
    for (const name of SUBGRAPH_NAMES) {
      expect(resources, `${name}.yaml`).toContain(`${name}.yaml`);
      expect(deployments, name).toContain(name);
    }
    const urls = /^SUBGRAPH_URLS=(.*)$/m.exec(read('k8s/base/gateway-config.env'))?.[1];
    expect(urls).toBe(SUBGRAPH_NAMES.map((name) => `${name}=http://${name}:${SUBGRAPHS[name].port}/graphql`).join(','));
  });

  it('the Dockerfile exposes each subgraph port and metrics port', () => {
    const exposed = /^EXPOSE (.*)$/m.exec(read('Dockerfile'))?.[1]?.split(/\s+/).map(Number) ?? [];
    for (const { port } of Object.values(SUBGRAPHS)) expect(exposed).toEqual(expect.arrayContaining([port, metricsPortOf(port)]));
  });

  it('the README shows each subgraph with its ports', () => {
    for (const [name, { port }] of Object.entries(SUBGRAPHS)) {
      expect(readme, `${name} in the subgraph table`).toContain(`| **${name}** |`);
      expect(readme, `${name} in the architecture diagram`).toMatch(new RegExp(`── ${name}\\s+:${port}\\b`));
      expect(readme, `${name}'s METRICS_PORT`).toContain(`${name} ${metricsPortOf(port)}`);
      expect(readme, `${name.toUpperCase()}_PORT`).toContain(`\`${name.toUpperCase()}_PORT\` (${port})`);
    }
  });
});
