import { runMain } from '../../lib/main.js';
import { startSubgraphProcess } from '../../lib/subgraph-process.js';
import { loadInferenceConfig } from './config.js';
import { createInferenceSubgraph } from './server.js';

runMain(() => {
  const config = loadInferenceConfig(process.env);
  return startSubgraphProcess('inference', config, (deps) => createInferenceSubgraph(deps, { config }));
});
