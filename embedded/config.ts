import { z } from 'zod';

import { gatewayEnvSchema } from '../gateway/config.js';
import { env, parseEnv } from '../lib/config.js';
import { serviceEnvSchema } from '../lib/service.js';
import { SUBGRAPH_NAMES, type SubgraphName, SUBGRAPHS } from '../lib/subgraph-list.js';
import { tracingEnv } from '../lib/tracing/config.js';
import { inferenceEnvSchema } from '../subgraphs/inference/config.js';
import { usageEnvSchema } from '../subgraphs/usage/config.js';
import { usersEnvSchema } from '../subgraphs/users/config.js';
import { workerEnvSchema } from '../worker/config.js';

/** `USERS_PORT`, `INFERENCE_PORT`, …: one per subgraph, defaulting to the subgraph's own port. */
const portVariableOf = <N extends SubgraphName>(name: N) => `${name.toUpperCase() as Uppercase<N>}_PORT` as const;
function subgraphPortSettings() {
  return Object.fromEntries(SUBGRAPH_NAMES.map((name) => [portVariableOf(name), env.port(SUBGRAPHS[name].port)])) as {
    [N in SubgraphName as ReturnType<typeof portVariableOf<N>>]: ReturnType<typeof env.port>;
  };
}

/**
 * Settings of `npm start`, which runs every service in one process. With nothing set it
 * needs no outside service: PGlite keeps data in EMBEDDED_DATA_DIR and an in-process
 * stand-in replaces Redis.
 */
export const embeddedEnvSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  GATEWAY_PORT: env.port(4000),
  ...subgraphPortSettings(),
  WORKER_PORT: env.port(4005),
  /** @default 9_400 // every service's metrics, at `/metrics/<service>` (gateway, users, …, worker). */
  METRICS_PORT: env.port(9_400),
  LOG_LEVEL: env.logLevel(),
  DATABASE_URL: env.optionalUrl(),
  EMBEDDED_DATA_DIR: z.string().min(1).default('.data/pglite'),
  REDIS_URL: env.optionalUrl(),
  REDIS_KEY_PREFIX: z.string().default('lotabots:'),
  /** Development token keys and identity secret are generated here once (gitignored). */
  DEV_KEY_DIR: z.string().min(1).default('.keys'),
  /** OpenTelemetry tracing, off unless an endpoint is set; each service is `<OTEL_SERVICE_NAME or lotabots>-<service>`. */
  ...tracingEnv,
});

/**
 * Variables `npm start` decides for every service itself: each service's port comes from its
 * own `<SERVICE>_PORT`, all metrics share `METRICS_PORT`, and everything runs as development
 * (PGlite, generated keys), so a `PORT` or `NODE_ENV` meant for one process changes nothing.
 */
const ASSIGNED_BY_EMBEDDED = ['PORT', 'HOST', 'METRICS_PORT', 'NODE_ENV'] as const;

/**
 * `npm start`'s own settings, and every other process's settings read from the same
 * environment: the gateway, the users subgraph, the worker and the subgraphs' shared ones each
 * see it through their own schema, so any variable of any configuration table works here and a
 * bad one stops start-up with the same one-line error as the process it belongs to.
 */
export function loadEmbeddedConfig(environment: Record<string, string | undefined>) {
  const embedded = parseEnv(embeddedEnvSchema, environment);
  const given = Object.fromEntries(
    Object.entries(environment).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && !(ASSIGNED_BY_EMBEDDED as readonly string[]).includes(entry[0]),
    ),
  );
  // Checked here for the one-line error; the platform parses it again with the ports it assigns.
  parseEnv(gatewayEnvSchema, given);
  return {
    ...embedded,
    subgraphPorts: Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, embedded[portVariableOf(name)]])) as Record<SubgraphName, number>,
    gatewayEnv: given,
    users: parseEnv(usersEnvSchema, given),
    usage: parseEnv(usageEnvSchema, given),
    inference: parseEnv(inferenceEnvSchema, given),
    worker: parseEnv(workerEnvSchema, given),
    subgraphs: parseEnv(serviceEnvSchema(0), given),
  };
}
