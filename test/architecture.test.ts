import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { repoRoot } from './spawn.js';

/**
 * The layering rules of README.md's Architecture section, checked on every run instead of
 * remembered: each test lists the imports that break one rule (`file -> specifier`). Rules on
 * what ships (lib's dependencies, who knows Apollo) exempt tests, where modules meet: a lib
 * test may check the gateway's config, an e2e test may analyse the supergraph with Apollo.
 */

/** The only packages that make the gateway's engine: nothing outside `gateway/engine/` imports them. */
const ENGINE_PACKAGES = ['@apollo/gateway', '@apollo/query-planner', '@apollo/federation-internals', '@apollo/utils.keyvaluecache'];
/** Gateway folders that own one feature, its plugin and its logic; they never reach up into `plugins/`. */
const GATEWAY_FEATURES = ['auth', 'authorization', 'subscriptions', 'live-stats', 'usage-events', 'health', 'plans', 'inbound-dedup'];
/**
 * Known breaks of a rule, each with the change that removes it. `lib/db/schema-engine.ts` is
 * the migration tool's (devDependencies by design) and moves to `scripts/`: delete the entry then.
 */
const SKIPPED_DIRECTORIES = new Set(['node_modules', 'dist', '__generated__', '.git', 'coverage']);

interface Import {
  /** The importing file, relative to the repository root with `/` separators. */
  file: string;
  specifier: string;
  /** `import type` / `export type`: erased at run time. */
  typeOnly: boolean;
  /** For a relative specifier, the imported path relative to the repository root; null for a package. */
  target: string | null;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The static, re-export and dynamic imports of one TypeScript source. */
export function importsOf(file: string, source: string): Import[] {
  return [...source.matchAll(IMPORT)].map((match) => {
    const specifier = (match[2] ?? match[3])!;
    const target = specifier.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)) : null;
    return { file, specifier, typeOnly: match[1] !== undefined, target };
  });
}

async function sourceFiles(directory: string): Promise<string[]> {
  const entries = await readdir(path.join(repoRoot, directory), { withFileTypes: true });
  const nested = await Promise.all(
    entries.map(async (entry) => {
      const relative = path.posix.join(directory, entry.name);
      if (entry.isDirectory()) return SKIPPED_DIRECTORIES.has(entry.name) ? [] : sourceFiles(relative);
      return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [relative] : [];
    }),
  );
  return nested.flat();
}

const packageOf = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
const inside = (file: string | null, folder: string) => file !== null && (file === folder || file.startsWith(`${folder}/`));
const isTest = (file: string) => /\.(test|e2e)\.ts$/.test(file) || inside(file, 'test');
const describeAll = (imports: Import[]) => imports.map((i) => `${i.file} -> ${i.specifier}`);

describe('architecture rules', async () => {
  const folders = ['lib', 'gateway', 'subgraphs', 'worker', 'embedded', 'scripts', 'bench', 'test'];
  const files = (await Promise.all(folders.map((folder) => sourceFiles(folder).catch(() => [])))).flat();
  const imports = (await Promise.all(files.map(async (file) => importsOf(file, await readFile(path.join(repoRoot, file), 'utf8'))))).flat();
  const packageJson = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
  const devDependencies = new Set(Object.keys(packageJson.devDependencies ?? {}));

  it('regression: the checker sees multi-line, type-only, re-exported and dynamic imports', () => {
    const source = "import {\n  a,\n  b,\n} from '../gateway/x.js';\nimport type { C } from 'vitest';\nexport { d } from './d.js';\nconst e = await import('pg');\nimport 'side-effect';";
    expect(importsOf('lib/y.ts', source).map(({ specifier, typeOnly, target }) => [specifier, typeOnly, target])).toEqual([
      ['../gateway/x.js', false, 'gateway/x.js'],
      ['vitest', true, null],
      ['./d.js', false, 'lib/d.js'],
      ['pg', false, null],
      ['side-effect', false, null],
    ]);
  });

  it('finds the sources it checks', () => {
    expect(files.filter((file) => file.startsWith('gateway/engine/')).length).toBeGreaterThan(0);
    expect(imports.length).toBeGreaterThan(100);
  });

  it('lib/ imports nothing outside lib/, and no devDependency at run time', () => {
    const fromLib = imports.filter((i) => inside(i.file, 'lib') && !isTest(i.file));
    const outside = fromLib.filter((i) => i.target !== null && !inside(i.target, 'lib'));
    const dev = fromLib.filter((i) => i.target === null && !i.typeOnly && devDependencies.has(packageOf(i.specifier)));
    expect(describeAll([...outside, ...dev])).toEqual([]);
  });

  it('a subgraph imports neither another subgraph nor the gateway', () => {
    const broken = imports.filter((i) => {
      const own = /^subgraphs\/([^/]+)\//.exec(i.file)?.[1];
      if (!own || i.target === null) return false;
      const other = /^subgraphs\/([^/]+)\//.exec(i.target)?.[1];
      return inside(i.target, 'gateway') || (other !== undefined && other !== own);
    });
    expect(describeAll(broken)).toEqual([]);
  });

  // A feature's own tests may assemble it with the edge plugins it runs beside in the gateway.
  it('a gateway feature folder never imports gateway/plugins/ outside its tests', () => {
    const broken = imports.filter(
      (i) => GATEWAY_FEATURES.some((feature) => inside(i.file, `gateway/${feature}`)) && inside(i.target, 'gateway/plugins') && !isTest(i.file),
    );
    expect(describeAll(broken)).toEqual([]);
  });

  it('gateway/upstream/ never imports gateway/auth/ (it declares the caller it needs)', () => {
    const broken = imports.filter((i) => inside(i.file, 'gateway/upstream') && inside(i.target, 'gateway/auth'));
    expect(describeAll(broken)).toEqual([]);
  });

  // The worker's model-server client (worker/backends/openai) is another process's own way out.
  it('in the gateway, only gateway/upstream/ imports the HTTP client that talks to subgraphs (undici)', () => {
    const broken = imports.filter((i) => i.target === null && packageOf(i.specifier) === 'undici' && inside(i.file, 'gateway') && !inside(i.file, 'gateway/upstream'));
    expect(describeAll(broken)).toEqual([]);
  });

  it("nothing outside gateway/engine/ imports Apollo's runtime packages", () => {
    const broken = imports.filter(
      (i) => i.target === null && ENGINE_PACKAGES.includes(packageOf(i.specifier)) && !inside(i.file, 'gateway/engine') && !isTest(i.file),
    );
    expect(describeAll(broken)).toEqual([]);
  });
});
