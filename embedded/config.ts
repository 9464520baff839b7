import { z } from 'zod';
import { env, parseEnv } from '../lib/config.js';

/**
 * Settings of `npm start`, which runs every service in one process. With nothing set it
 * needs no outside service: PGlite keeps data in EMBEDDED_DATA_DIR and an in-process
 * stand-in replaces Redis.
 */
export const embeddedEnvSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  GATEWAY_PORT: env.port(4000),
  USERS_PORT: env.port(4001),
  INFERENCE_PORT: env.port(4002),
  USAGE_PORT: env.port(4003),
  AUTONOMY_PORT: env.port(4004),
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
});

export function loadEmbeddedConfig(environment: Record<string, string | undefined>) {
  return parseEnv(embeddedEnvSchema, environment);
}
