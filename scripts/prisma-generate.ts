/**
 * `npm run prisma:generate`: regenerates each owner's typed Prisma client under
 * `subgraphs/<owner>/data/__generated__/prisma`. The CLI looks for the native schema engine
 * even though `generate` does not use it, and it cannot be downloaded here, so it is pointed
 * at a placeholder file (see ../shared/notes/prisma-offline.md).
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

import { schemaFileOf, TABLE_OWNERS } from '../lib/db/owners.js';

const require = createRequire(import.meta.url);
const prismaCli = require.resolve('prisma/build/index.js');
const placeholder = new URL('../prisma/schema-engine.placeholder', import.meta.url).pathname;

for (const owner of TABLE_OWNERS) {
  execFileSync(process.execPath, [prismaCli, 'generate', '--schema', schemaFileOf(owner)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: placeholder, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
  });
  console.log(`${owner}: generated Prisma client`);
}
