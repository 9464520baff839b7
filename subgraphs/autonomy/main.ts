import { runMain } from '../../lib/main.js';
import { startSubgraphProcess } from '../../lib/subgraph-process.js';
import { loadAutonomyConfig } from './config.js';
import { createAutonomySubgraph } from './server.js';

runMain(() => startSubgraphProcess('autonomy', loadAutonomyConfig(process.env), createAutonomySubgraph));
