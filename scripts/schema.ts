/**
 * The schema workflow of the teams that own subgraphs (README, "Schema workflow"):
 *
 * - `npm run schema:check [-- --released schema.released.graphql --config supergraph.yaml]`
 *   composes the subgraphs and lists every change of the API schema against the last released
 *   one (`@graphql-inspector/core`), each as BREAKING, DANGEROUS or NON_BREAKING; the exit
 *   status is 1 when any is breaking (or composition fails), so a removed field or a narrowed
 *   argument stops CI until it is released on purpose.
 * - `npm run schema:release [-- --released schema.released.graphql]` records the composed API
 *   schema as the released one (commit it with the release).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { CriticalityLevel, diff } from '@graphql-inspector/core';
import { buildSchema } from 'graphql';

import { compose, readSupergraphConfig } from '../lib/compose.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: 'string', default: 'supergraph.yaml' },
    released: { type: 'string', default: 'schema.released.graphql' },
  },
});

try {
  const { apiSchemaSdl } = compose(await readSupergraphConfig(values.config));
  if (positionals[0] === 'release') {
    await writeFile(values.released, apiSchemaSdl);
    console.log(`released the composed API schema as ${values.released}`);
  } else if (positionals[0] === 'check') {
    const released = await readFile(values.released, 'utf8');
    const changes = await diff(buildSchema(released), buildSchema(apiSchemaSdl));
    for (const change of changes) console.log(`${change.criticality.level.padEnd(12)} ${change.message}`);
    const breaking = changes.filter((change) => change.criticality.level === CriticalityLevel.Breaking).length;
    console.log(`${changes.length} change(s) against ${values.released}, ${breaking} breaking`);
    if (breaking > 0) process.exitCode = 1;
  } else {
    throw new Error('usage: tsx scripts/schema.ts check|release [--config FILE] [--released FILE]');
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
