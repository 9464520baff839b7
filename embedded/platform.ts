import type { Registry } from 'prom-client';

import { gatewayEnvSchema } from '../gateway/config.js';
import { createGateway } from '../gateway/server.js';
import { loadSupergraphSdl } from '../gateway/supergraph.js';
import { createIdentitySigner } from '../lib/auth/identity-header.js';
import type { SigningKeys } from '../lib/auth/keys.js';
import { type Clock, systemClock } from '../lib/clock.js';
import { type Database, openDatabase } from '../lib/db/connection.js';
import { applyMigrations } from '../lib/db/migrations.js';
import { migrationSetOf, TABLE_OWNERS } from '../lib/db/owners.js';
import { documentLimitsOf } from '../lib/graphql-limits.js';
import { listen, type RunningServer } from '../lib/http.js';
import { createInferenceBus, type InferenceBus } from '../lib/inference/index.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { listenMetrics } from '../lib/metrics-server.js';
import { connectRedis, type Redis } from '../lib/redis.js';
import { type ServiceEnv, serviceEnvSchema } from '../lib/service.js';
import type { Subgraph, SubgraphDeps } from '../lib/subgraph.js';
import { SUBGRAPH_NAMES, type SubgraphName } from '../lib/subgraph-list.js';
import type { TracingSettings } from '../lib/tracing/config.js';
import { type Tracing, TRACING_OFF, tracingStarter } from '../lib/tracing/tracing.js';
import { createAutonomySubgraph } from '../subgraphs/autonomy/server.js';
import { type InferenceConfig, inferenceEnvSchema } from '../subgraphs/inference/config.js';
import { createInferenceSubgraph } from '../subgraphs/inference/server.js';
import { type UsageConfig, usageEnvSchema } from '../subgraphs/usage/config.js';
import { createUsageSubgraph } from '../subgraphs/usage/server.js';
import { type UsersConfig, usersEnvSchema } from '../subgraphs/users/config.js';
import { createUsersSubgraph } from '../subgraphs/users/server.js';
import { type WorkerConfig, workerEnvSchema } from '../worker/config.js';
import { createWorker } from '../worker/worker.js';

export { SUBGRAPH_NAMES, type SubgraphName } from '../lib/subgraph-list.js';

/** Secrets every service of the platform shares (see lib/auth/keys.ts for how they are loaded). */
export interface PlatformSecrets {
  identitySecret: Uint8Array;
  signingKeys: SigningKeys;
}

export interface PlatformOptions {
  host: string;
  /** 0 picks a free port. `metrics` serves every service's registry, at `/metrics/<service>`. */
  ports: Record<SubgraphName | 'gateway' | 'worker' | 'metrics', number>;
  databaseUrl?: string | undefined;
  embeddedDataDir: string;
  redisUrl?: string | undefined;
  redisKeyPrefix: string;
  logLevel: string;
  secrets: PlatformSecrets;
  /** Gateway settings in environment-variable form, over its defaults (e.g. OIDC_ISSUERS). */
  gatewayEnv?: Record<string, string>;
  /** Users subgraph settings that differ from its defaults (tests loosen brute-force limits). */
  users?: Partial<UsersConfig>;
  /** Usage subgraph settings that differ from its defaults (metering, billing schedule and export). */
  usage?: Partial<UsageConfig>;
  /** Inference subgraph settings over its defaults (limits, cache; its autonomy URL is the platform's own). */
  inference?: Partial<InferenceConfig>;
  /** @default true // false: no worker runs (tests that drive jobs themselves, or start workers of their own). */
  startWorker?: boolean;
  /** Worker settings over its defaults (its port, host and log level are the platform's). */
  worker?: Partial<WorkerConfig>;
  /** Settings every subgraph shares (pool size, document and body limits, metrics labels). */
  subgraphs?: Partial<ServiceEnv>;
  /**
   * OpenTelemetry settings (lib/tracing), off unless an endpoint is set. Each service traces
   * under its own name, `<OTEL_SERVICE_NAME or lotabots>-<service>` (lotabots-gateway, …).
   */
  tracing?: TracingSettings;
  clock?: Clock;
}

export interface RunningPlatform {
  gatewayUrl: string;
  subgraphUrls: Record<SubgraphName, string>;
  /** Each service's Prometheus text, on the metrics port (never on the service's own port). */
  metricsUrls: Record<SubgraphName | 'gateway' | 'worker', string>;
  db: Database;
  redis: Redis;
  /** The inference bus the inference subgraph and the worker share (in memory without a Redis URL). */
  inferenceBus: InferenceBus;
  logger: Logger;
  /** Stops one subgraph's server (to see how the gateway copes without it). */
  stopSubgraph(name: SubgraphName): Promise<void>;
  /** Exports every span ended so far, of every service (nothing to do with tracing off). */
  flushTraces(): Promise<void>;
  stop(): Promise<void>;
}

const serviceEnvDefaults = serviceEnvSchema(0).parse({});

const SUPERGRAPH_CONFIG = new URL('../supergraph.yaml', import.meta.url).pathname;

/**
 * The whole platform in one process: one database (migrated), one Redis, the four
 * subgraphs and the worker on their own ports, and the gateway composed from them.
 * `npm start` runs this with embedded defaults; the tests run it against real services.
 */
export async function startPlatform(options: PlatformOptions): Promise<RunningPlatform> {
  const logger = createLogger({ name: 'platform', level: options.logLevel });
  const clock = options.clock ?? systemClock;
  const cleanup: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const step of cleanup.reverse()) await step().catch((error: unknown) => logger.error({ err: error }, 'shutdown step failed'));
  };
  try {
    const tracing = await startServiceTracing(options.tracing);
    // First in, so last out: every other step's spans are exported before the platform stops.
    cleanup.push(() => tracing.shutdown());
    const subgraphSettings = { ...serviceEnvDefaults, ...options.subgraphs };
    const db = await openDatabase({ url: options.databaseUrl, embeddedDataDir: options.embeddedDataDir, poolSize: subgraphSettings.DATABASE_POOL_SIZE });
    cleanup.push(() => db.close());
    for (const owner of TABLE_OWNERS) await applyMigrations(db, migrationSetOf(owner));
    const redis = await connectRedis({ url: options.redisUrl, keyPrefix: options.redisKeyPrefix });
    cleanup.push(async () => void redis.disconnect());
    // The worker's settings over its defaults; where and how loudly it runs is the platform's.
    const workerPlacement = workerEnvSchema.parse({ HOST: options.host, PORT: String(options.ports.worker), LOG_LEVEL: options.logLevel });
    const workerConfig = { ...workerPlacement, ...options.worker, HOST: workerPlacement.HOST, PORT: workerPlacement.PORT, LOG_LEVEL: workerPlacement.LOG_LEVEL };
    // One bus for the whole process: without a Redis server it lives in memory, where only a shared object connects producer and worker.
    const inferenceBus = createInferenceBus(redis, { inProcess: !options.redisUrl, streamTtlSeconds: workerConfig.INFERENCE_STREAM_TTL_SECONDS });
    cleanup.push(() => inferenceBus.close());

    const identity = createIdentitySigner(options.secrets.identitySecret, () => clock.now());
    const deps: SubgraphDeps = {
      db,
      redis,
      logger,
      clock,
      identity,
      production: false,
      maxRequestBodyBytes: subgraphSettings.MAX_REQUEST_BODY_BYTES,
      documentLimits: documentLimitsOf(subgraphSettings),
      metricsMaxOperationNames: subgraphSettings.METRICS_MAX_OPERATION_NAMES,
    };
    const usersSettings = { ...usersEnvSchema.parse({}), ...options.users, keys: options.secrets.signingKeys };
    const inferenceSettings = { ...inferenceEnvSchema.parse({}), ...options.inference };
    const factories: Record<SubgraphName, (d: SubgraphDeps) => Subgraph> = {
      users: (d) => createUsersSubgraph(d, usersSettings),
      inference: (d) => createInferenceSubgraph(d, { config: inferenceSettings, bus: inferenceBus, autonomyUrl: () => subgraphUrlOf('autonomy') }),
      usage: (d) => createUsageSubgraph(d, { ...usageEnvSchema.parse({}), ...options.usage }, { queueDepth: () => inferenceBus.queue.depth() }),
      autonomy: createAutonomySubgraph,
    };
    const servers = {} as Record<SubgraphName, RunningServer>;
    const subgraphUrlOf = (name: SubgraphName) => `${servers[name].url}/graphql`;
    const registries: Record<string, Registry> = {};
    for (const name of SUBGRAPH_NAMES) {
      const subgraph = factories[name]({ ...deps, tracer: tracing.of(name).tracer });
      registries[name] = subgraph.registry;
      cleanup.push(() => subgraph.close());
      servers[name] = await listen(subgraph.yoga, { host: options.host, port: options.ports[name] });
      cleanup.push(() => servers[name].close(1_000));
      const webSockets = subgraph.attachWebSockets(servers[name].server);
      cleanup.push(() => webSockets.close());
      await subgraph.start();
    }
    const subgraphUrls = Object.fromEntries(
      Object.entries(servers).map(([name, server]) => [name, `${server.url}/graphql`]),
    ) as Record<SubgraphName, string>;

    const gatewayConfig = gatewayEnvSchema.parse({
      // The gateway refuses access tokens living longer than the users subgraph issues them.
      ACCESS_TOKEN_MAX_TTL_SECONDS: String(usersSettings.ACCESS_TOKEN_TTL_SECONDS),
      ...options.gatewayEnv,
      // The gateway is handed the platform's Redis client; the URL only satisfies production's check.
      REDIS_URL: options.redisUrl,
      HOST: options.host,
      PORT: String(options.ports.gateway),
      LOG_LEVEL: options.logLevel,
    });
    const supergraphSdl = await loadSupergraphSdl({ configFile: SUPERGRAPH_CONFIG, urlOverrides: subgraphUrls });
    const gateway = await createGateway(gatewayConfig, {
      logger: logger.child({ service: 'gateway' }),
      supergraphSdl,
      redis,
      clock,
      identity,
      keys: options.secrets.signingKeys,
      tracer: tracing.of('gateway').tracer,
    });
    cleanup.push(() => gateway.close());
    registries.gateway = gateway.registry;
    const gatewayServer = await listen(gateway.yoga, { host: options.host, port: options.ports.gateway });
    cleanup.push(() => gatewayServer.close(1_000));
    const webSockets = gateway.attachWebSockets(gatewayServer.server);
    cleanup.push(() => webSockets.close());

    if (options.startWorker ?? true) {
      const worker = createWorker(workerConfig, { redis, bus: inferenceBus, logger: logger.child({ service: 'worker' }), clock, tracer: tracing.of('worker').tracer });
      await worker.start();
      cleanup.push(() => worker.stop());
      registries.worker = worker.registry;
      const workerServer = await listen(worker.handler, { host: options.host, port: options.ports.worker });
      cleanup.push(() => workerServer.close(1_000));
    }
    const metricsServer = await listenMetrics(
      Object.fromEntries(Object.entries(registries).map(([service, registry]) => [`/metrics/${service}`, registry])),
      { host: options.host, port: options.ports.metrics },
    );
    cleanup.push(() => metricsServer.close(0));

    return {
      gatewayUrl: `${gatewayServer.url}/graphql`,
      subgraphUrls,
      metricsUrls: Object.fromEntries(Object.keys(registries).map((service) => [service, `${metricsServer.url}/metrics/${service}`])) as RunningPlatform['metricsUrls'],
      db,
      redis,
      inferenceBus,
      logger,
      stopSubgraph: (name) => servers[name].close(0),
      flushTraces: () => tracing.forceFlush(),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

type PlatformService = SubgraphName | 'gateway' | 'worker';

/** One Tracing per service (each its own `service.name`), flushed and shut down together. */
async function startServiceTracing(settings: TracingSettings | undefined) {
  const services = new Map<PlatformService, Tracing>();
  const prefix = settings?.OTEL_SERVICE_NAME ?? 'lotabots';
  const start = settings ? await tracingStarter({ ...settings, OTEL_SERVICE_NAME: undefined }) : () => TRACING_OFF;
  return {
    of(service: PlatformService): Tracing {
      let tracing = services.get(service);
      if (!tracing) {
        tracing = start(`${prefix}-${service}`);
        services.set(service, tracing);
      }
      return tracing;
    },
    forceFlush: async () => void (await Promise.all([...services.values()].map((tracing) => tracing.forceFlush()))),
    shutdown: async () => void (await Promise.all([...services.values()].map((tracing) => tracing.shutdown()))),
  };
}
