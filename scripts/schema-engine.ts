import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as engineBindings from '@prisma/schema-engine-wasm/schema_engine_bg';

import { type Database, openDatabase } from '../lib/db/connection.js';
import { applyMigrations, type MigrationSet } from '../lib/db/migrations.js';

// The package is built for bundlers (`import * as wasm from "./x.wasm"`), which Node cannot
// load, so the module is instantiated here against its own JS glue, once per process.
let initialised: Promise<void> | undefined;
function loadEngine(): Promise<void> {
  initialised ??= (async () => {
    const require = createRequire(import.meta.url);
    const wasmPath = path.join(path.dirname(require.resolve('@prisma/schema-engine-wasm')), 'schema_engine_bg.wasm');
    const { instance } = await WebAssembly.instantiate(await readFile(wasmPath), {
      './schema_engine_bg.js': engineBindings as unknown as WebAssembly.ModuleImports,
    });
    (engineBindings as unknown as { __wbg_set_wasm(exports: unknown): void }).__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start?: () => void }).__wbindgen_start?.();
  })();
  return initialised;
}

const EMPTY_MIGRATION = '-- This is an empty migration.';

/** One owner's Prisma schema and the migrations meant to build it. */
export interface SchemaAndMigrations {
  schemaFile: string;
  migrations: MigrationSet;
}

/**
 * For each of `owners`, the SQL that takes a database with its committed migrations applied to
 * the state its Prisma schema describes: what `prisma migrate dev --create-only` would write,
 * computed by the WASM schema engine. Empty when they agree. One throwaway in-memory PGlite
 * serves them all (each owner's tables live in its own PostgreSQL schema and each Prisma
 * schema names only its own), since starting PGlite is the slow part.
 */
export async function diffMigrationsToSchemas(owners: SchemaAndMigrations[]): Promise<string[]> {
  await loadEngine();
  const db = await openDatabase({ embeddedDataDir: 'memory://', poolSize: 1 });
  try {
    for (const owner of owners) await applyMigrations(db, owner.migrations);
    const diffs: string[] = [];
    for (const owner of owners) diffs.push(await diffDatabaseToSchema(db, owner.schemaFile));
    return diffs;
  } finally {
    await db.close();
  }
}

async function diffDatabaseToSchema(db: Database, schemaFile: string): Promise<string> {
  const content = await readFile(schemaFile, 'utf8');
  const files = [{ path: schemaFile, content }];
  const engine = await engineBindings.SchemaEngine.new(
    { datamodels: [[schemaFile, content]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(db.adapter),
  );
  try {
    const result = await engine.diff({
      from: { tag: 'schemaDatasource', files, configDir: path.dirname(schemaFile) },
      to: { tag: 'schemaDatamodel', files },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    const sql = (result as { stdout?: string }).stdout?.trim() ?? '';
    return sql === EMPTY_MIGRATION ? '' : sql;
  } finally {
    engine.free();
  }
}
