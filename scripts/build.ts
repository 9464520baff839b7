import { execFileSync } from 'node:child_process';
import { cp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';

/**
 * `npm run build`: compiles every process to JavaScript in dist/ (tsconfig.build.json) and
 * copies the files they read at run time to the same paths under dist/, since they find them
 * relative to their own module (`new URL(…, import.meta.url)`). `node dist/gateway/main.js`
 * then runs without tsx, whose loader (a thread of its own with a second V8 heap, and the
 * TypeScript sources kept for source maps) costs each process about 50 MB.
 */
const subgraphSchemas = (await readdir('subgraphs', { withFileTypes: true }))
  .filter((entry) => entry.isDirectory())
  .map((entry) => `subgraphs/${entry.name}/schema.graphql`);
const RUNTIME_FILES = ['supergraph.yaml', 'prisma', 'gateway/dashboard', 'worker/backends/builtin/corpus.txt', ...subgraphSchemas];

await rm('dist', { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
for (const file of RUNTIME_FILES) {
  await cp(file, `dist/${file}`, { recursive: true, filter: (source) => !source.endsWith('.ts') });
}
console.log(`dist/: compiled, with ${RUNTIME_FILES.length} runtime files and folders`);
