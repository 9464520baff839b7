import { hostname } from 'node:os';

import { z } from 'zod';

import { env, parseEnv, requiredInProduction } from '../lib/config.js';

export const workerEnvSchema = z.object({
  NODE_ENV: env.nodeEnv(),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Port of the worker's /health and /ready. */
  PORT: env.port(4005),
  /** @default 9_405 // `/metrics`. */
  METRICS_PORT: env.port(9_405),
  LOG_LEVEL: env.logLevel(),
  REDIS_URL: env.optionalUrl(),
  REDIS_KEY_PREFIX: z.string().default('lotabots:'),
  /** Unique per worker process; the default is fine for one worker per host or pod. */
  WORKER_ID: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/).default(`${hostname()}-${process.pid}`),
  /** @default 10_000 // 10 s; the registration expires after 3 missed heartbeats. */
  WORKER_HEARTBEAT_MS: env.positiveInt(10_000),
}).superRefine(requiredInProduction('REDIS_URL'));

export type WorkerConfig = z.output<typeof workerEnvSchema>;

export function loadWorkerConfig(environment: Record<string, string | undefined>): WorkerConfig {
  return parseEnv(workerEnvSchema, environment);
}
