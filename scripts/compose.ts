/**
 * `npm run compose [-- --config supergraph.yaml --out supergraph.graphql --api-out schema.graphql]`:
 * composes the subgraphs listed in a rover-format config into a supergraph SDL file and the
 * client-facing API schema (no federation internals; what `npm run schema:check` compares).
 * A composition error is printed, one line per error, and the exit status is 1.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { compose, readSupergraphConfig } from '../lib/compose.js';

const { values } = parseArgs({
  options: {
    config: { type: 'string', default: 'supergraph.yaml' },
    out: { type: 'string', default: 'supergraph.graphql' },
    'api-out': { type: 'string', default: 'schema.graphql' },
  },
});

try {
  const subgraphs = await readSupergraphConfig(values.config);
  const { supergraphSdl, apiSchemaSdl } = compose(subgraphs);
  await writeFile(values.out, supergraphSdl);
  await writeFile(values['api-out'], apiSchemaSdl);
  console.log(`composed ${subgraphs.map((s) => s.name).join(', ')} into ${values.out}, API schema into ${values['api-out']}`);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
