import { ApolloGateway } from '@apollo/gateway';
import { Supergraph } from '@apollo/federation-internals';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { Histogram, type Registry } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import { maskUnexpectedError } from '../lib/mask-error.js';
import { createMetricsRegistry, METRIC_NAMESPACE, useGraphqlMetrics } from '../lib/metrics.js';
import type { GatewayConfig } from './config.js';
import { createApolloExecutor } from './execution/apollo-executor.js';
import { useFederatedExecution } from './plugins/use-federated-execution.js';
import { useHealth, type SubgraphEndpoint } from './plugins/use-health.js';
import { useRequestErrorStatus } from './plugins/use-request-error-status.js';
import { SubgraphDataSource } from './subgraph-data-source.js';

export interface GatewayDeps {
  logger: Logger;
  /** The supergraph SDL to serve (see loadSupergraphSdl). */
  supergraphSdl: string;
}

export interface Gateway {
  yoga: YogaServerInstance<Record<string, unknown>, Record<string, unknown>>;
  registry: Registry;
  subgraphs: SubgraphEndpoint[];
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
  const subgraphs = [...Supergraph.build(deps.supergraphSdl).subgraphs().values()].map((s) => ({ name: s.name, url: s.url }));
  const gateway = new ApolloGateway({
    supergraphSdl: deps.supergraphSdl,
    logger: { debug: () => {}, info: () => {}, warn: (m) => logger.warn(String(m)), error: (m) => logger.error(String(m)) },
    buildService: ({ name, url }) => new SubgraphDataSource(name, url!, config.SUBGRAPH_TIMEOUT_MS, subgraphFetchDuration),
  });
  const { schema } = await gateway.load();
  let draining = false;
  const yoga = createYoga<Record<string, unknown>>({
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: false as never,
    landingPage: false,
    graphiql: config.NODE_ENV !== 'production',
    logging: false,
    maskedErrors: { maskError: maskUnexpectedError(logger) },
    plugins: [
      useHealth({ subgraphs, probeTimeoutMs: config.HEALTH_PROBE_TIMEOUT_MS, isReady: () => !draining }),
      useGraphqlMetrics(registry),
      useRequestErrorStatus(),
      useFederatedExecution(schema, createApolloExecutor(gateway, logger)),
    ],
  });
  return {
    yoga,
    registry,
    subgraphs,
    startDraining: () => {
      draining = true;
    },
    close: () => gateway.stop(),
  };
}
