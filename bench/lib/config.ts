import { z } from 'zod';

import { env, parseEnv } from '../../lib/config.js';

/**
 * Seconds of one load window. At most 50: a window sends the same headers throughout, and a
 * signed identity header (direct subgraph requests) expires 60 s after it is made.
 */
const windowSeconds = (defaultValue: number) => z.coerce.number().min(0).max(50).default(defaultValue);

/** The parts of a run, in the order they run; `BENCH_ONLY` picks some. */
export const BENCH_PARTS = ['http', 'micro', 'features', 'engines', 'subscriptions', 'hostile', 'inference'] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];

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
  /** @default true // run the subscription benchmark after the HTTP part (`0` skips it) */
  BENCH_SUBSCRIPTIONS: env.bool(true),
  /** @default 10_000 // subscriptions the gateway process holds open (the target) */
  BENCH_SUBSCRIPTIONS_COUNT: env.positiveInt(10_000),
  /** @default 100 // graphql-ws connections those subscriptions are multiplexed over */
  BENCH_SUBSCRIPTION_SOCKETS: env.positiveInt(100),
  /** @default 100 // extra users with one subscription each (own socket) whose deliveries are timed */
  BENCH_LATENCY_SUBSCRIPTIONS: env.positiveInt(100),
  /** @default 1_000 // events published per second in the latency measurement */
  BENCH_EVENT_RATE: env.positiveInt(1_000),
  /** @default 10 // seconds of events in the latency measurement; at most 120 */
  BENCH_EVENT_SECONDS: z.coerce.number().positive().max(120).default(10),
  /**
   * NODE_OPTIONS of the subscription benchmark's gateway process. @default the production
   * value (k8s/base/gateway.yaml): the V8 heap is collected before the pod's memory limit.
   */
  BENCH_GATEWAY_NODE_OPTIONS: z.string().default('--max-old-space-size=384'),
  /** @default true // measure gateway req/s with cost + persisted features on vs off, two gateway processes (`0` skips it) */
  BENCH_FEATURES: env.bool(true),
  /** @default true // measure gateway req/s and CPU per request with GATEWAY_ENGINE=apollo vs native, two gateway processes (`0` skips it) */
  BENCH_ENGINES: env.bool(true),
  /**
   * @default 8 // on/off pairs of windows in that measurement: a 5 % difference is smaller than
   * what one window varies by on a shared machine, so it takes the median of many pairs
   */
  BENCH_FEATURES_ROUNDS: env.positiveInt(8),
  /** @default true // fire the hostile corpus at the gateway as deployed, after the subscriptions (`0` skips it) */
  BENCH_HOSTILE: env.bool(true),
  /** @default 10 // seconds of hostile traffic; at most 120 */
  BENCH_HOSTILE_SECONDS: z.coerce.number().positive().max(120).default(10),
  /** @default 8 // concurrent hostile senders (each request on a connection of its own) */
  BENCH_HOSTILE_CONNECTIONS: env.positiveInt(8),
  /**
   * @default unset // every part; else a comma-separated list of the parts to run
   * (`features` measures only the cost + persisted features on vs off)
   */
  BENCH_ONLY: z
    .string()
    .optional()
    .transform((value) => (value === undefined || value.trim() === '' ? null : value.split(',').map((part) => part.trim())))
    .pipe(z.array(z.enum(BENCH_PARTS)).min(1).nullable()),
  /** @default true // the inference benchmark: TTFT overhead, tokens/s, concurrent streams through the gateway (`0` skips it) */
  BENCH_INFERENCE: env.bool(true),
  /** @default 50 // jobs, one after another, whose time to first token is measured */
  BENCH_INFERENCE_TTFT_JOBS: env.positiveInt(50),
  /** @default 2_000 // tokens of the one full-speed stream whose tokens/s is measured */
  BENCH_INFERENCE_THROUGHPUT_TOKENS: env.positiveInt(2_000),
  /** @default 1_000 // jobs streamed at once through the one gateway (the figure) */
  BENCH_INFERENCE_STREAMS: z.coerce.number().int().min(1).max(5_000).default(1_000),
  /** @default 100 // tokens per concurrent stream */
  BENCH_INFERENCE_STREAM_TOKENS: env.positiveInt(100),
  /** @default 50 // ms between two tokens of a concurrent stream (the model server's pace), so the streams overlap */
  BENCH_INFERENCE_STREAM_PACE_MS: env.positiveInt(50),
  /** @default 20 // graphql-ws connections the concurrent streams are multiplexed over */
  BENCH_INFERENCE_SOCKETS: env.positiveInt(20),
}).refine((config) => config.BENCH_SUBSCRIPTION_SOCKETS <= config.BENCH_SUBSCRIPTIONS_COUNT, {
  path: ['BENCH_SUBSCRIPTION_SOCKETS'],
  message: 'must not exceed BENCH_SUBSCRIPTIONS_COUNT',
});

export type BenchConfig = z.output<typeof benchEnvSchema>;

/** Whether `part` runs: listed in BENCH_ONLY, or BENCH_ONLY unset. */
export const runsPart = (config: BenchConfig, part: BenchPart): boolean => config.BENCH_ONLY === null || config.BENCH_ONLY.includes(part);

export function loadBenchConfig(environment: Record<string, string | undefined>): BenchConfig {
  return parseEnv(benchEnvSchema, environment);
}
