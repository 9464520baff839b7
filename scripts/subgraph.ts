/**
 * `npm run subgraph -- <name>`: runs one subgraph's process (`subgraphs/<name>/main.ts`) in
 * this process, so that one script serves every subgraph of lib/subgraph-list.ts.
 */
import { isSubgraphName, SUBGRAPH_NAMES } from '../lib/subgraph-list.js';

const [name] = process.argv.slice(2);
if (!name || !isSubgraphName(name)) {
  console.error(`usage: npm run subgraph -- <${SUBGRAPH_NAMES.join(' | ')}>`);
  process.exit(2);
}
await import(`../subgraphs/${name}/main.js`);
