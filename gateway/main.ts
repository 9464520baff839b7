import { createIdentitySigner } from '../lib/auth/identity-header.js';
import { loadIdentitySecret, loadSigningKeys } from '../lib/auth/keys.js';
import { systemClock } from '../lib/clock.js';
import { listen } from '../lib/http.js';
import { connectRedis } from '../lib/redis.js';
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
  const production = config.NODE_ENV === 'production';
  const identitySecret = await loadIdentitySecret({ secret: config.IDENTITY_SIGNING_SECRET, devKeyDir: config.DEV_KEY_DIR, production });
  const keys = await loadSigningKeys({ publicKeyPem: config.JWT_PUBLIC_KEY, keyId: config.JWT_KEY_ID, devKeyDir: config.DEV_KEY_DIR, production }, false);
  const redis = await connectRedis({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX });
  const gateway = await createGateway(config, {
    logger,
    supergraphSdl,
    redis,
    clock: systemClock,
    identity: createIdentitySigner(identitySecret),
    keys,
  });
  const server = await listen(gateway.yoga, { host: config.HOST, port: config.PORT });
  const webSockets = gateway.attachWebSockets(server.server);
  logger.info({ subgraphs: gateway.subgraphs.map((s) => s.name) }, `gateway listening on ${server.url}/graphql`);
  return {
    async stop() {
      gateway.startDraining();
      await webSockets.close();
      await server.close(config.SHUTDOWN_GRACE_MS);
      await gateway.close();
      redis.disconnect();
    },
  };
});
