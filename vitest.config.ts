import { createRequire } from 'node:module';

import { configDefaults, defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships both index.mjs and index.js; Node (and the CommonJS Apollo packages)
    // load index.js, while Vite would pick index.mjs. Two copies break `instanceof
    // GraphQLError`, so tests load the one production loads.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    // Wherever a test file lives, it runs (test/test-discovery.test.ts); only build output and data are skipped.
    include: ['**/*.test.ts', '**/*.e2e.ts'],
    exclude: [...configDefaults.exclude, 'dist/**', '.data/**', 'bench/results/**'],
    // Each file gets its own database and Redis key prefix, so files can run side by side;
    // two at a time matches this machine's two cores.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['test/global-setup.ts'],
  },
});
