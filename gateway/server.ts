import { ApolloGateway } from '@apollo/gateway';
import { Supergraph } from '@apollo/federation-internals';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { Histogram, type Registry } from 'prom-client';
import type { IdentitySigner } from '../lib/auth/identity-header.js';
import type { SigningKeys } from '../lib/auth/keys.js';
import { anonymousPrincipal } from '../lib/auth/principal.js';
import { createSessionRevocations } from '../lib/auth/revocation.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Redis } from '../lib/redis.js';
import { createApiKeyResolver } from './auth/api-keys.js';
import { createAuthenticator } from './auth/authenticator.js';
import { createOidcVerifier } from './auth/oidc.js';
import { useAuth } from './plugins/use-auth.js';
import { attachGraphqlWs } from './transports/graphql-ws.js';
import type { Server } from 'node:http';
import { maskUnexpectedError } from '../lib/mask-error.js';
import { createMetricsRegistry, METRIC_NAMESPACE, useGraphqlMetrics } from '../lib/metrics.js';
import type { GatewayConfig } from './config.js';
import { createApolloExecutor } from './execution/apollo-executor.js';
import { useFederatedExecution } from './plugins/use-federated-execution.js';
import { useHealth, type SubgraphEndpoint } from './plugins/use-health.js';
import { useRequestErrorStatus } from './plugins/use-request-error-status.js';
import { acknowledgeEnforcedSecurityFeatures } from './security-features.js';
import { SubgraphDataSource } from './subgraph-data-source.js';

export interface GatewayDeps {
  logger: Logger;
  /** The supergraph SDL to serve (see loadSupergraphSdl). */
  supergraphSdl: string;
  redis: Redis;
  clock: Clock;
  /** Signs the identity header the subgraphs verify. */
  identity: IdentitySigner;
  /** Verifies LotaBots access tokens. */
  keys: Pick<SigningKeys, 'publicKey'>;
}

export interface Gateway {
  yoga: YogaServerInstance<Record<string, unknown>, Record<string, unknown>>;
  registry: Registry;
  subgraphs: SubgraphEndpoint[];
  /** Serves GraphQL over WebSocket (graphql-transport-ws) on the same server and path. */
  attachWebSockets(server: Server): { close(): Promise<void> };
  startDraining(): void;
  close(): Promise<void>;
}

/**
 * The gateway as a library: plans and executes operations over the supergraph's subgraphs
 * and serves `/graphql` (GraphiQL outside production), `/health`, `/ready` and `/metrics`.
 * Listens nowhere; `main.ts` does.
 */
export async function createGateway(config: GatewayConfig, deps: GatewayDeps): Promise<Gateway> {
  const logger = deps.logger;
  const registry = createMetricsRegistry('gateway', { processMetrics: true });
  const subgraphFetchDuration = new Histogram({
    name: `${METRIC_NAMESPACE}_subgraph_fetch_duration_seconds`,
    help: 'Duration of gateway-to-subgraph HTTP fetches, by subgraph and outcome (ok, unavailable).',
    labelNames: ['subgraph', 'outcome'] as const,
    registers: [registry],
  });
  const supergraphSdl = acknowledgeEnforcedSecurityFeatures(deps.supergraphSdl);
  const subgraphs = [...Supergraph.build(supergraphSdl).subgraphs().values()].map((s) => ({ name: s.name, url: s.url }));
  const gateway = new ApolloGateway({
    supergraphSdl,
    logger: { debug: () => {}, info: () => {}, warn: (m) => logger.warn(String(m)), error: (m) => logger.error(String(m)) },
    buildService: ({ name, url }) => new SubgraphDataSource(name, url!, config.SUBGRAPH_TIMEOUT_MS, subgraphFetchDuration),
  });
  const { schema } = await gateway.load();
  const authenticator = createAuthenticator({
    keys: deps.keys,
    // Only read here; the users subgraph writes revocations with the access-token lifetime.
    revocations: createSessionRevocations(deps.redis, 1),
    oidc: createOidcVerifier(config.OIDC_ISSUERS, {
      cooldownMs: config.OIDC_JWKS_COOLDOWN_MS,
      cacheMaxAgeMs: config.OIDC_JWKS_MAX_AGE_MS,
      timeoutMs: config.HEALTH_PROBE_TIMEOUT_MS * 5,
    }),
    apiKeys: createApiKeyResolver({
      redis: deps.redis,
      lookupUrl: subgraphs.find((s) => s.name === config.API_KEY_SUBGRAPH)?.url ?? null,
      identity: deps.identity,
      cacheSeconds: config.API_KEY_CACHE_SECONDS,
      negativeCacheSeconds: config.API_KEY_NEGATIVE_CACHE_SECONDS,
      timeoutMs: config.SUBGRAPH_TIMEOUT_MS,
    }),
    clock: deps.clock,
    logger,
  });
  const probeIdentity = () => deps.identity.sign(anonymousPrincipal(null));
  let draining = false;
  const yoga = createYoga<Record<string, unknown>>({
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: false as never,
    landingPage: false,
    graphiql: config.NODE_ENV !== 'production',
    logging: false,
    maskedErrors: { maskError: maskUnexpectedError(logger) },
    plugins: [
      useHealth({ subgraphs, probeTimeoutMs: config.HEALTH_PROBE_TIMEOUT_MS, isReady: () => !draining, probeIdentity }),
      useGraphqlMetrics(registry),
      useAuth(authenticator, deps.identity, config.TRUSTED_PROXY_HOPS),
      useRequestErrorStatus(),
      useFederatedExecution(schema, createApolloExecutor(gateway, logger)),
    ],
  });
  return {
    yoga,
    registry,
    subgraphs,
    attachWebSockets: (server) =>
      attachGraphqlWs({ server, yoga, authenticator, logger, connectionInitWaitTimeoutMs: config.CONNECTION_INIT_TIMEOUT_MS }),
    startDraining: () => {
      draining = true;
    },
    close: () => gateway.stop(),
  };
}
