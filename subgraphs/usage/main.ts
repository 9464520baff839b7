import { runMain } from '../../lib/main.js';
import { startSubgraphProcess } from '../../lib/subgraph-process.js';
import { loadUsageConfig } from './config.js';
import { createUsageSubgraph } from './server.js';

runMain(() => startSubgraphProcess('usage', loadUsageConfig(process.env), createUsageSubgraph));
