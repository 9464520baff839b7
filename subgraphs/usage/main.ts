import { runMain } from '../../lib/main.js';
import { startSubgraphProcess } from '../../lib/subgraph-process.js';
import { loadUsageConfig } from './config.js';
import { createUsageSubgraph } from './server.js';

runMain(() => {
  const config = loadUsageConfig(process.env);
  return startSubgraphProcess('usage', config, (deps) => createUsageSubgraph(deps, config));
});
