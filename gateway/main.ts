import { createIdentitySigner } from '../lib/auth/identity-header.js';
import { loadIdentitySecret, loadSigningKeys } from '../lib/auth/keys.js';
import { systemClock } from '../lib/clock.js';
import { drainDelayMs } from '../lib/config.js';
import { listen } from '../lib/http.js';
import { createLogger } from '../lib/logger.js';
import { runMain } from '../lib/main.js';
import { listenMetrics } from '../lib/metrics-server.js';
import { connectRedis } from '../lib/redis.js';
import { startTracing } from '../lib/tracing/tracing.js';
import { loadGatewayConfig } from './config.js';
import { createGateway } from './server.js';
import { loadSupergraphSdl, watchSupergraph } from './supergraph.js';

runMain(async () => {
  const config = loadGatewayConfig(process.env, process.argv.slice(2));
  const logger = createLogger({ name: 'gateway', level: config.LOG_LEVEL });
  const supergraphSource = { sdlFile: config.SUPERGRAPH, configFile: config.SUPERGRAPH_CONFIG, urlOverrides: config.SUBGRAPH_URLS };
  const supergraphSdl = await loadSupergraphSdl(supergraphSource);
  const production = config.NODE_ENV === 'production';
  const identitySecret = await loadIdentitySecret({ secret: config.IDENTITY_SIGNING_SECRET, devKeyDir: config.DEV_KEY_DIR, production });
  const keys = await loadSigningKeys({ publicKeyPem: config.JWT_PUBLIC_KEY, keyId: config.JWT_KEY_ID, devKeyDir: config.DEV_KEY_DIR, production }, false);
  // Every request sends several commands: those of concurrent requests share one syscall.
  const redis = await connectRedis({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, coalesceWrites: true });
  const tracing = await startTracing(config, 'lotabots-gateway');
  const gateway = await createGateway(config, {
    logger,
    supergraphSdl,
    redis,
    clock: systemClock,
    identity: createIdentitySigner(identitySecret),
    keys,
    tracer: tracing.tracer,
  });
  const server = await listen(gateway.yoga, { host: config.HOST, port: config.PORT });
  const webSockets = gateway.attachWebSockets(server.server);
  // A new SUPERGRAPH file (a deploy of a composed schema) is served without a restart.
  const supergraphWatch = watchSupergraph(supergraphSource, (sdl) => gateway.reloadSupergraph(sdl), (error) =>
    logger.error({ err: error, file: config.SUPERGRAPH }, 'supergraph not reloaded; serving the previous one'),
  );
  const metrics = await listenMetrics({ '/metrics': gateway.registry }, { host: config.HOST, port: config.METRICS_PORT });
  logger.info({ subgraphs: gateway.subgraphs.map((s) => s.name) }, `gateway listening on ${server.url}/graphql`);
  logger.info(`gateway metrics on ${metrics.url}/metrics`);
  return {
    async stop() {
      supergraphWatch?.close();
      gateway.startDraining();
      await server.drain({
        delayMs: drainDelayMs(config),
        graceMs: config.SHUTDOWN_GRACE_MS,
        // Subscriptions end (1001, going away) once new connections go elsewhere; clients reconnect there.
        onStopAccepting: () => webSockets.close(),
        log: (message) => logger.info(message),
      });
      await gateway.close();
      await metrics.close(0);
      redis.disconnect();
      // Last: the spans of the requests drained above are exported before the process exits.
      await tracing.shutdown();
    },
  };
});
