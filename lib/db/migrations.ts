import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import type { Database } from './connection.js';

export interface MigrationSet {
  /** PostgreSQL schema that holds the owner's tables and its `_prisma_migrations` record. */
  schema: string;
  /** Folder with `<timestamp>_<name>/migration.sql` entries, as Prisma lays them out. */
  directory: string;
}

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

// Serialises concurrent runners (several replicas starting, or a Job racing a dev server).
const MIGRATION_LOCK_ID = 7_270_736_914;

export async function readMigrations(directory: string): Promise<Migration[]> {
  const entries = await readdir(directory, { withFileTypes: true }).catch(() => []);
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(directory, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/**
 * Applies the committed migrations that the database lacks, each in its own transaction, and
 * records them in `<schema>._prisma_migrations` exactly as `prisma migrate deploy` does, so
 * Prisma's own tooling sees the database as up to date. Returns the names applied.
 * Throws when an applied migration's file has changed since (its checksum differs).
 */
export async function applyMigrations(db: Database, set: MigrationSet): Promise<string[]> {
  const migrations = await readMigrations(set.directory);
  const table = `"${set.schema}"."_prisma_migrations"`;
  const applied: string[] = [];
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
    await tx.exec(`CREATE SCHEMA IF NOT EXISTS "${set.schema}";
      CREATE TABLE IF NOT EXISTS ${table} (
        "id" VARCHAR(36) PRIMARY KEY NOT NULL,
        "checksum" VARCHAR(64) NOT NULL,
        "finished_at" TIMESTAMPTZ,
        "migration_name" VARCHAR(255) NOT NULL,
        "logs" TEXT,
        "rolled_back_at" TIMESTAMPTZ,
        "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "applied_steps_count" INTEGER NOT NULL DEFAULT 0
      );`);
  });
  for (const migration of migrations) {
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
      const [existing] = await tx.query<{ checksum: string }>(
        `SELECT checksum FROM ${table} WHERE migration_name = $1 AND finished_at IS NOT NULL AND rolled_back_at IS NULL`,
        [migration.name],
      );
      if (existing) {
        if (existing.checksum !== migration.checksum) {
          throw new Error(`migration ${set.schema}/${migration.name} was changed after it was applied`);
        }
        return;
      }
      const startedAt = new Date();
      await tx.exec(migration.sql);
      await tx.query(
        `INSERT INTO ${table} (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
         VALUES ($1, $2, now(), $3, $4, 1)`,
        [randomUUID(), migration.checksum, migration.name, startedAt],
      );
      applied.push(migration.name);
    });
  }
  return applied;
}
