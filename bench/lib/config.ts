import { z } from 'zod';
import { env, parseEnv } from '../../lib/config.js';

/**
 * Seconds of one load window. At most 50: a window sends the same headers throughout, and a
 * signed identity header (direct subgraph requests) expires 60 s after it is made.
 */
const windowSeconds = (defaultValue: number) => z.coerce.number().min(0).max(50).default(defaultValue);

/** Every setting of `npm run bench`; the README's table lists the same. */
export const benchEnvSchema = z.object({
  /** @default 5 // seconds measured per scenario per round */
  BENCH_DURATION: windowSeconds(5).refine((s) => s > 0, 'must be greater than 0'),
  /** @default 1 // seconds of unmeasured load before each measured window (JIT, pools, caches) */
  BENCH_WARMUP: windowSeconds(1),
  /** @default 20 // concurrent keep-alive connections the load generator holds open */
  BENCH_CONNECTIONS: env.positiveInt(20),
  /** @default 3 // interleaved rounds; each column reports the median over rounds */
  BENCH_ROUNDS: env.positiveInt(3),
  /** A database on the real PostgreSQL from which a throwaway database is created and dropped. */
  BENCH_DATABASE_ADMIN_URL: z.url().default('postgres://postgres@127.0.0.1:5432/postgres'),
  BENCH_REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  /** @default silent // the platform's log level; logs go to stderr */
  BENCH_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('silent'),
});

export type BenchConfig = z.output<typeof benchEnvSchema>;

export function loadBenchConfig(environment: Record<string, string | undefined>): BenchConfig {
  return parseEnv(benchEnvSchema, environment);
}
