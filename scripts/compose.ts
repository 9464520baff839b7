/**
 * `npm run compose [-- --config supergraph.yaml --out supergraph.graphql]`: composes the
 * subgraphs listed in a rover-format config into a supergraph SDL file. A composition error
 * is printed, one line per error, and the exit status is 1.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { composeSupergraph, readSupergraphConfig } from '../lib/compose.js';

const { values } = parseArgs({
  options: { config: { type: 'string', default: 'supergraph.yaml' }, out: { type: 'string', default: 'supergraph.graphql' } },
});

try {
  const subgraphs = await readSupergraphConfig(values.config);
  const sdl = composeSupergraph(subgraphs);
  await writeFile(values.out, sdl);
  console.log(`composed ${subgraphs.map((s) => s.name).join(', ')} into ${values.out}`);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
