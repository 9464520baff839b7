import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as engineBindings from '@prisma/schema-engine-wasm/schema_engine_bg';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { openDatabase } from './connection.js';
import { applyMigrations, type MigrationSet } from './migrations.js';

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

/**
 * The SQL that takes a database with every committed migration applied to the state the
 * Prisma schema describes: what `prisma migrate dev --create-only` would write, computed by
 * the WASM schema engine against a throwaway in-memory PGlite. Empty when they agree.
 */
export async function diffMigrationsToSchema(schemaFile: string, migrations: MigrationSet): Promise<string> {
  await loadEngine();
  const content = await readFile(schemaFile, 'utf8');
  const db = await openDatabase({ embeddedDataDir: 'memory://', poolSize: 1 });
  try {
    await applyMigrations(db, migrations);
    const files = [{ path: schemaFile, content }];
    const engine = await engineBindings.SchemaEngine.new(
      { datamodels: [[schemaFile, content]] },
      () => {},
      bindMigrationAwareSqlAdapterFactory(db.adapter),
    );
    const result = await engine.diff({
      from: { tag: 'schemaDatasource', files, configDir: path.dirname(schemaFile) },
      to: { tag: 'schemaDatamodel', files },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    engine.free();
    const sql = (result as { stdout?: string }).stdout?.trim() ?? '';
    return sql === EMPTY_MIGRATION ? '' : sql;
  } finally {
    await db.close();
  }
}
