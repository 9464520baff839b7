/**
 * `npm run db:migrate`: applies every owner's committed migrations to DATABASE_URL (or the
 * embedded PGlite directory) and exits. Run as a Job before rolling out new servers;
 * servers never migrate at start-up (only the all-in-one `npm start` does, for convenience).
 */
import { z } from 'zod';

import { env, parseEnv } from '../lib/config.js';
import { openDatabase } from '../lib/db/connection.js';
import { applyMigrations } from '../lib/db/migrations.js';
import { migrationSetOf, TABLE_OWNERS } from '../lib/db/owners.js';
import { runMain } from '../lib/main.js';
import { redactUrl } from '../lib/redis.js';

const migrateEnvSchema = z.object({
  DATABASE_URL: env.optionalUrl(),
  EMBEDDED_DATA_DIR: z.string().min(1).default('.data/pglite'),
});

runMain(async () => {
  const config = parseEnv(migrateEnvSchema, process.env);
  const db = await openDatabase({ url: config.DATABASE_URL, embeddedDataDir: config.EMBEDDED_DATA_DIR, poolSize: 1 });
  try {
    for (const owner of TABLE_OWNERS) {
      const applied = await applyMigrations(db, migrationSetOf(owner));
      console.log(`${owner}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
    }
    console.log(`migrated ${config.DATABASE_URL ? redactUrl(config.DATABASE_URL) : config.EMBEDDED_DATA_DIR}`);
  } finally {
    await db.close();
  }
  process.exit(0);
});
