/**
 * Writes clients/persisted-documents.json, the trusted documents (Apollo's persisted query
 * list) from the operations kept in clients/ (`npm run codegen`; `codegen:check` fails when stale).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { manifestOf } from '../gateway/persisted-queries/manifest.js';

const CLIENTS = 'clients';
const files = readdirSync(CLIENTS, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.graphql'))
  .sort();
const manifest = manifestOf(files.map((file) => readFileSync(join(CLIENTS, file), 'utf8')));
writeFileSync(join(CLIENTS, 'persisted-documents.json'), `${JSON.stringify(manifest, null, 2)}\n`);
