/**
 * Keeps `prisma/<owner>/migrations` in step with `prisma/<owner>/schema.prisma` without the
 * native schema engine (see ../shared/notes/prisma-offline.md).
 *
 *   tsx scripts/db-migrations.ts check          exit 1 when a schema has changes no migration holds
 *   tsx scripts/db-migrations.ts create NAME    write those changes as a new migration per owner
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { migrationSetOf, schemaFileOf, TABLE_OWNERS } from '../lib/db/owners.js';
import { diffMigrationsToSchemas } from './schema-engine.js';

const [command, name] = process.argv.slice(2);
if (command !== 'check' && !(command === 'create' && name && /^[a-z0-9_]+$/.test(name))) {
  console.error('usage: db-migrations.ts check | create <snake_case_name>');
  process.exit(2);
}

let stale = false;
const diffs = await diffMigrationsToSchemas(TABLE_OWNERS.map((owner) => ({ schemaFile: schemaFileOf(owner), migrations: migrationSetOf(owner) })));
for (const [index, owner] of TABLE_OWNERS.entries()) {
  const set = migrationSetOf(owner);
  const sql = diffs[index]!;
  if (!sql) {
    console.log(`${owner}: migrations match schema.prisma`);
    continue;
  }
  if (command === 'check') {
    stale = true;
    console.error(`${owner}: schema.prisma has changes that no migration holds:\n${sql}\n`);
    continue;
  }
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const dir = path.join(set.directory, `${stamp}_${name}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'migration.sql'), `${sql}\n`);
  console.log(`${owner}: wrote ${path.relative(process.cwd(), dir)}/migration.sql`);
}
if (stale) {
  console.error('run: npm run db:migration -- <name>');
  process.exit(1);
}
