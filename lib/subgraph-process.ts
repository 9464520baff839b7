import { createIdentitySigner } from './auth/identity-header.js';
import { loadIdentitySecret } from './auth/keys.js';
import { connectServiceDeps, type ServiceEnv } from './service.js';
import { listen } from './http.js';
import { systemClock } from './clock.js';
import type { Subgraph, SubgraphDeps } from './subgraph.js';

/**
 * Starts one subgraph as its own process: connects PostgreSQL and Redis (failing fast when
 * either is unreachable), builds the subgraph, listens (HTTP and SSE, plus WebSocket on the
 * same path). Stopping drains: `/ready` turns 503, WebSocket connections close, in-flight
 * requests get `SHUTDOWN_GRACE_MS`, then connections close.
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
  const subgraph = await create({
    ...infrastructure,
    clock: systemClock,
    identity: createIdentitySigner(identitySecret),
    production,
    maxRequestBodyBytes: config.MAX_REQUEST_BODY_BYTES,
    processMetrics: true,
  });
  const server = await listen(subgraph.yoga, { host: config.HOST, port: config.PORT });
  const webSockets = subgraph.attachWebSockets(server.server);
  infrastructure.logger.info(`${name} subgraph listening on ${server.url}/graphql (HTTP, SSE and WebSocket)`);
  return {
    async stop() {
      subgraph.startDraining();
      // Subscriptions end now (1001, going away): the gateway reopens them on another replica.
      await webSockets.close();
      await server.close(config.SHUTDOWN_GRACE_MS);
      await subgraph.close();
      await infrastructure.close();
    },
  };
}
