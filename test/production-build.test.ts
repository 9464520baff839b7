import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const packageJson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

/** The files `npm run build` compiles into dist/, as tsc itself resolves tsconfig.build.json. */
function productionSources(): string[] {
  const configFile = path.join(root, 'tsconfig.build.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(configFile, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(String(d.messageText)); } });
  if (!parsed) throw new Error('cannot read tsconfig.build.json');
  return parsed.fileNames;
}

/** Packages a module loads at run time: `import type` is erased, every other import stays. */
function runtimePackagesOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^'";]*?\s+from\s+['"]([^'"]+)['"]/gm),
    ...source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
    ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((match) => match[1]!);
  return specifiers
    .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:') && !builtinModules.includes(specifier))
    .map((specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'));
}

describe('production build', () => {
  it('regression: no module compiled into dist/ imports a devDependency (the schema engine lived in lib/db/)', () => {
    const files = productionSources();
    expect(files.some((file) => file.endsWith('scripts/migrate.ts'))).toBe(true);
    expect(files.some((file) => file.endsWith('schema-engine.ts'))).toBe(false);
    const devOnly = files.flatMap((file) =>
      runtimePackagesOf(file)
        .filter((pkg) => !(pkg in packageJson.dependencies))
        .map((pkg) => `${path.relative(root, file)} imports ${pkg}`),
    );
    expect(devOnly).toEqual([]);
  });
});
