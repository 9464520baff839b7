import { runMain } from '../../lib/main.js';
import { startSubgraphProcess } from '../../lib/subgraph-process.js';
import { loadUsersConfig } from './config.js';
import { createUsersSubgraph } from './server.js';

runMain(() => startSubgraphProcess('users', loadUsersConfig(process.env), createUsersSubgraph));
