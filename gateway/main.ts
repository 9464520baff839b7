import { listen } from '../lib/http.js';
import { createLogger } from '../lib/logger.js';
import { runMain } from '../lib/main.js';
import { loadGatewayConfig } from './config.js';
import { createGateway } from './server.js';
import { loadSupergraphSdl } from './supergraph.js';

runMain(async () => {
  const config = loadGatewayConfig(process.env, process.argv.slice(2));
  const logger = createLogger({ name: 'gateway', level: config.LOG_LEVEL });
  const supergraphSdl = await loadSupergraphSdl({
    sdlFile: config.SUPERGRAPH,
    configFile: config.SUPERGRAPH_CONFIG,
    urlOverrides: config.SUBGRAPH_URLS,
  });
  const gateway = await createGateway(config, { logger, supergraphSdl });
  const server = await listen(gateway.yoga, { host: config.HOST, port: config.PORT });
  logger.info({ subgraphs: gateway.subgraphs.map((s) => s.name) }, `gateway listening on ${server.url}/graphql`);
  return {
    async stop() {
      gateway.startDraining();
      await server.close(config.SHUTDOWN_GRACE_MS);
      await gateway.close();
    },
  };
});
