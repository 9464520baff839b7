import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Database, openDatabase } from '../lib/db/connection.js';
import { applyMigrations, readMigrations } from '../lib/db/migrations.js';
import { migrationSetOf, schemaFileOf, TABLE_OWNERS } from '../lib/db/owners.js';
import { diffMigrationsToSchemas } from '../scripts/schema-engine.js';
import { createTestDatabase, type TestDatabase } from './kit.js';

describe('migrations', () => {
  let database: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await openDatabase({ url: database.url, embeddedDataDir: 'memory://', poolSize: 2 });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  it('applies each owner’s migrations into its own schema and records them as Prisma does', async () => {
    for (const owner of TABLE_OWNERS) {
      const set = migrationSetOf(owner);
      const files = await readMigrations(set.directory);
      expect(await applyMigrations(db, set)).toEqual(files.map((f) => f.name));
      const rows = await db.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
        `SELECT migration_name, checksum, finished_at FROM "${owner}"."_prisma_migrations" ORDER BY migration_name`,
      );
      const expected = await Promise.all(
        files.map(async (f) => ({
          migration_name: f.name,
          checksum: createHash('sha256').update(await readFile(path.join(set.directory, f.name, 'migration.sql'))).digest('hex'),
        })),
      );
      expect(rows.map(({ migration_name, checksum }) => ({ migration_name, checksum }))).toEqual(expected);
      expect(rows.every((r) => r.finished_at instanceof Date)).toBe(true);
    }
    const tables = await db.query<{ table_schema: string; table_name: string }>(
      `SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = ANY($1) AND table_name <> '_prisma_migrations' ORDER BY 1, 2`,
      [TABLE_OWNERS],
    );
    expect(tables.map((t) => `${t.table_schema}.${t.table_name}`)).toEqual([
      'autonomy.AutonomyAction',
      'autonomy.AutonomyChange',
      'autonomy.AutonomySetting',
      'inference.InferenceJob',
      'inference.Model',
      'usage.Account',
      'usage.Alert',
      'usage.BillingExportOutbox',
      'usage.Invoice',
      'usage.Plan',
      'usage.ProcessedEvent',
      'usage.UsageHourly',
      'usage.UsagePeriod',
      'users.ApiKey',
      'users.OutboxMessage',
      'users.PasswordReset',
      'users.RefreshToken',
      'users.User',
    ]);
  });

  it('applies nothing the second time', async () => {
    for (const owner of TABLE_OWNERS) expect(await applyMigrations(db, migrationSetOf(owner))).toEqual([]);
  });

  it('refuses to run when an applied migration file was edited', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lotabots-migrations-'));
    try {
      await mkdir(path.join(dir, '20260101000000_first'));
      await writeFile(path.join(dir, '20260101000000_first', 'migration.sql'), 'CREATE TABLE scratch.t (id int);');
      const set = { schema: 'scratch', directory: dir };
      expect(await applyMigrations(db, set)).toEqual(['20260101000000_first']);
      await writeFile(path.join(dir, '20260101000000_first', 'migration.sql'), 'CREATE TABLE scratch.t (id bigint);');
      await expect(applyMigrations(db, set)).rejects.toThrow('migration scratch/20260101000000_first was changed after it was applied');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rolls a failing migration back entirely and does not record it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lotabots-migrations-'));
    try {
      await mkdir(path.join(dir, '20260101000000_broken'));
      await writeFile(path.join(dir, '20260101000000_broken', 'migration.sql'), 'CREATE TABLE broken.a (id int); CREATE TABLE broken.a (id int);');
      await expect(applyMigrations(db, { schema: 'broken', directory: dir })).rejects.toThrow(/already exists/);
      const [row] = await db.query<{ tables: number; recorded: number }>(
        `SELECT (SELECT count(*)::int FROM information_schema.tables WHERE table_schema = 'broken' AND table_name = 'a') AS tables,
                (SELECT count(*)::int FROM broken._prisma_migrations) AS recorded`,
      );
      expect(row).toEqual({ tables: 0, recorded: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // One schema-engine pass over one PGlite for all four owners, started by whichever test runs first.
  let diffs: Promise<string[]> | undefined;
  const diffOf = async (owner: (typeof TABLE_OWNERS)[number]) => {
    diffs ??= diffMigrationsToSchemas(TABLE_OWNERS.map((o) => ({ schemaFile: schemaFileOf(o), migrations: migrationSetOf(o) })));
    return (await diffs)[TABLE_OWNERS.indexOf(owner)];
  };
  // Loading the WASM schema engine and PGlite takes seconds, many more on a loaded machine.
  it.each(TABLE_OWNERS)('%s: schema.prisma and the committed migrations agree (else run npm run db:migration -- <name>)', { timeout: 180_000 }, async (owner) => {
    expect(await diffOf(owner)).toBe('');
  });
});
