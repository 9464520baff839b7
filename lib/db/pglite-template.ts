import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PGlite } from '@electric-sql/pglite';

/**
 * Opens PGlite on `dataDir`. A new database (`memory://`, or a directory without one yet) is
 * loaded from a tarball of a freshly initialised one instead of running initdb again: initdb
 * is most of `npm start`'s first start-up and of every throwaway test database (about 5.5 s
 * against 2 s on an idle 2-core machine, several times both when it is loaded). The tarball
 * is made from the first new database and kept under `node_modules/.cache`, per PGlite
 * release; when it cannot be read or written, initdb simply runs as before.
 */
export async function createPglite(dataDir: string): Promise<PGlite> {
  const isNew = dataDir.startsWith('memory://') || !existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!isNew) return PGlite.create(dataDir);
  const file = await templateFile().catch(() => null);
  const template = file ? await readFile(file).catch(() => null) : null;
  if (template) {
    return PGlite.create(dataDir, { loadDataDir: new Blob([template]) }).catch(async (error: unknown) => {
      await rm(file!, { force: true }); // a damaged copy: the next start runs initdb and makes a new one
      throw error;
    });
  }
  const db = await PGlite.create(dataDir);
  if (file) await saveTemplate(db, file).catch(() => {});
  return db;
}

async function templateFile(): Promise<string> {
  const packageDir = path.dirname(path.dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite'))));
  const { version } = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  return path.join(packageDir, '..', '..', '.cache', 'lotabots', `pglite-${version}-initdb.tar`);
}

/** Written under a temporary name and renamed, so processes starting side by side never read half a file. */
async function saveTemplate(db: PGlite, file: string): Promise<void> {
  const dump = Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer());
  await mkdir(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, dump);
  await rename(partial, file);
}
