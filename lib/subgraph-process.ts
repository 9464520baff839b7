import { createIdentitySigner } from './auth/identity-header.js';
import { loadIdentitySecret } from './auth/keys.js';
import { systemClock } from './clock.js';
import { drainDelayMs } from './config.js';
import { documentLimitsOf } from './graphql-limits.js';
import { listen } from './http.js';
import { listenMetrics } from './metrics-server.js';
import { connectServiceDeps, type ServiceEnv } from './service.js';
import type { Subgraph, SubgraphDeps } from './subgraph.js';
import { startTracing } from './tracing/tracing.js';

/**
 * Starts one subgraph as its own process: connects PostgreSQL and Redis (failing fast when
 * either is unreachable), builds the subgraph, listens (HTTP and SSE, plus WebSocket on the
 * same path) and serves its metrics on `METRICS_PORT`. Stopping drains (lib/http.ts `drain`):
 * `/ready` turns 503 and responses say `Connection: close` for `SHUTDOWN_DRAIN_DELAY_MS`, then
 * the listener and WebSocket connections close and in-flight requests get `SHUTDOWN_GRACE_MS`.
 * Tracing (lib/tracing) starts from the config's OTEL_* settings and is flushed last.
 * Migrations are not applied here; they run as a separate job (`npm run db:migrate`).
 */
export async function startSubgraphProcess(
  name: string,
  config: ServiceEnv,
  create: (deps: SubgraphDeps) => Subgraph | Promise<Subgraph>,
): Promise<{ stop(): Promise<void> }> {
  const production = config.NODE_ENV === 'production';
  const identitySecret = await loadIdentitySecret({ secret: config.IDENTITY_SIGNING_SECRET, devKeyDir: config.DEV_KEY_DIR, production });
  const infrastructure = await connectServiceDeps(name, config);
  const tracing = await startTracing(config, `lotabots-${name}`);
  const subgraph = await create({
    ...infrastructure,
    clock: systemClock,
    identity: createIdentitySigner(identitySecret),
    production,
    maxRequestBodyBytes: config.MAX_REQUEST_BODY_BYTES,
    processMetrics: true,
    documentLimits: documentLimitsOf(config),
    metricsMaxOperationNames: config.METRICS_MAX_OPERATION_NAMES,
    tracer: tracing.tracer,
  });
  await subgraph.start();
  const server = await listen(subgraph.yoga, { host: config.HOST, port: config.PORT });
  const webSockets = subgraph.attachWebSockets(server.server);
  const metrics = await listenMetrics({ '/metrics': subgraph.registry }, { host: config.HOST, port: config.METRICS_PORT });
  infrastructure.logger.info(`${name} subgraph listening on ${server.url}/graphql (HTTP, SSE and WebSocket), metrics on ${metrics.url}/metrics`);
  return {
    async stop() {
      subgraph.startDraining();
      await server.drain({
        delayMs: drainDelayMs(config),
        graceMs: config.SHUTDOWN_GRACE_MS,
        // Subscriptions end (1001, going away): the gateway reopens them on another replica.
        onStopAccepting: () => webSockets.close(),
        log: (message) => infrastructure.logger.info(message),
      });
      await subgraph.close();
      await metrics.close(0);
      await infrastructure.close();
      // Last: the spans of the requests drained above are exported before the process exits.
      await tracing.shutdown();
    },
  };
}
