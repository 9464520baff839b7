import { z } from 'zod';

import { DEFAULT_SUBGRAPH_MAX_REQUEST_BODY_BYTES } from './body-limit.js';
import { env, requiredInProduction } from './config.js';
import { type Database, openDatabase } from './db/connection.js';
import { documentLimitsEnv, SUBGRAPH_DOCUMENT_LIMITS } from './graphql-limits.js';
import { createLogger, type Logger } from './logger.js';
import { DEFAULT_METRICS_MAX_OPERATION_NAMES } from './metrics.js';
import { connectRedis, type Redis } from './redis.js';
import { tracingEnv } from './tracing/config.js';

/**
 * Settings every subgraph process shares; each subgraph's config module extends this with
 * its own. Keys are environment variable names.
 */
export function serviceEnvSchema(defaultPort: number) {
  return z.object({
    NODE_ENV: env.nodeEnv(),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: env.port(defaultPort),
    LOG_LEVEL: env.logLevel(),
    DATABASE_URL: env.optionalUrl(),
    DATABASE_POOL_SIZE: env.positiveInt(10),
    EMBEDDED_DATA_DIR: z.string().min(1).default('.data/pglite'),
    REDIS_URL: env.optionalUrl(),
    REDIS_KEY_PREFIX: z.string().default('lotabots:'),
    SHUTDOWN_GRACE_MS: env.positiveInt(10_000),
    /** Time `/ready` answers 503 while still serving after SIGTERM; see lib/config.ts drainDelayMs. */
    SHUTDOWN_DRAIN_DELAY_MS: env.optionalMs(),
    /** @default PORT's default + 5400 (users 9401 …) // `/metrics` only here, never on the GraphQL port. */
    METRICS_PORT: env.port(defaultPort + 5_400),
    /** Shared with the gateway; signs the identity header. Generated into DEV_KEY_DIR outside production. */
    IDENTITY_SIGNING_SECRET: z.string().optional(),
    /** Where development keys and secrets are generated (gitignored). */
    DEV_KEY_DIR: z.string().min(1).default('.keys'),
    /** Largest, most tokens, deepest nesting of a document from the gateway (GRAPHQL_PARSE_FAILED beyond). */
    ...documentLimitsEnv(SUBGRAPH_DOCUMENT_LIMITS),
    /** Distinct operation names labelled in the metrics; the rest are `unknown`. */
    METRICS_MAX_OPERATION_NAMES: z.coerce.number().int().min(0).default(DEFAULT_METRICS_MAX_OPERATION_NAMES),
    /** Largest request body accepted (413 REQUEST_TOO_LARGE beyond), see DEFAULT_SUBGRAPH_MAX_REQUEST_BODY_BYTES. */
    MAX_REQUEST_BODY_BYTES: env.positiveInt(DEFAULT_SUBGRAPH_MAX_REQUEST_BODY_BYTES),
    /** OpenTelemetry tracing (OTEL_EXPORTER_OTLP_ENDPOINT …), off unless an endpoint is set; see lib/tracing. */
    ...tracingEnv,
  }).superRefine(requiredInProduction('DATABASE_URL', 'REDIS_URL'));
}

export type ServiceEnv = z.output<ReturnType<typeof serviceEnvSchema>>;

/** What a subgraph factory is given: infrastructure already connected, owned by the caller. */
export interface ServiceDeps {
  db: Database;
  redis: Redis;
  logger: Logger;
}

export async function connectServiceDeps(name: string, config: ServiceEnv): Promise<ServiceDeps & { close(): Promise<void> }> {
  const logger = createLogger({ name, level: config.LOG_LEVEL });
  const db = await openDatabase({
    url: config.DATABASE_URL,
    embeddedDataDir: config.EMBEDDED_DATA_DIR,
    poolSize: config.DATABASE_POOL_SIZE,
  });
  const redis = await connectRedis({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX }).catch(async (error) => {
    await db.close();
    throw error;
  });
  return {
    db,
    redis,
    logger,
    async close() {
      redis.disconnect();
      await db.close();
    },
  };
}
