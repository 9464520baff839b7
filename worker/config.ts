import { hostname } from 'node:os';

import { z } from 'zod';

import { env, parseEnv, requiredInProduction } from '../lib/config.js';
import { tracingEnv } from '../lib/tracing/config.js';

const ms = (defaultMs: number) => z.coerce.number().int().min(1).max(3_600_000).default(defaultMs);

export const workerEnvSchema = z
  .object({
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
    /** `builtin`: the CPU development model; `openai`: an OpenAI-compatible server (the GPU path). */
    WORKER_BACKEND: z.enum(['builtin', 'openai']).default('builtin'),
    /** @default 4 // jobs run at once; a GPU server batches concurrent requests, so more than one pays. */
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(4),
    /** @default 25_000 // 25 s after SIGTERM for running jobs, inside Kubernetes' 30 s grace; the rest are requeued. */
    WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(3_600_000).default(25_000),
    /**
     * @default 30_000 // 30 s: a job held this long without a keep-alive belongs to a dead
     * worker and is taken over. Live workers keep their jobs alive every third of it.
     */
    WORKER_RECLAIM_IDLE_MS: ms(30_000),
    /** @default 3 // attempts of a job (first run + takeovers) before it fails WORKER_LOST: a job that kills its workers stops. */
    WORKER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
    /** @default 3_600 // 1 h a finished job's event stream stays readable (shared with the inference subgraph). */
    INFERENCE_STREAM_TTL_SECONDS: z.coerce.number().int().min(1).max(604_800).default(3_600),
    /** @default 20 // ms before each built-in token (~50 tokens/s, like a real model); 0: as fast as the CPU goes. */
    BUILTIN_TOKEN_DELAY_MS: z.coerce.number().int().min(0).max(10_000).default(20),
    /** The OpenAI-compatible API root, e.g. `http://vllm:8000/v1`. Required with WORKER_BACKEND=openai. */
    OPENAI_BASE_URL: env.optionalUrl(),
    /** Bearer token for the server, if it wants one. Secret. */
    OPENAI_API_KEY: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
    /** JSON: our model id → the server's model name, e.g. `{"llama-3.1-8b":"meta-llama/Llama-3.1-8B-Instruct"}`; its keys are the models served. */
    OPENAI_MODEL_MAP: env.json(z.record(z.string().min(1), z.string().min(1)), '{}', 'a JSON object of model id → upstream model name'),
    /** @default 10_000 // 10 s until the server answers with headers. */
    OPENAI_CONNECT_TIMEOUT_MS: ms(10_000),
    /** @default 60_000 // 60 s from the headers to the first token: a busy GPU server queues and prefills long prompts. */
    OPENAI_FIRST_TOKEN_TIMEOUT_MS: ms(60_000),
    /** @default 30_000 // 30 s between two chunks once tokens flow. */
    OPENAI_IDLE_TIMEOUT_MS: ms(30_000),
    /** OpenTelemetry tracing (OTEL_EXPORTER_OTLP_ENDPOINT …), off unless an endpoint is set; see lib/tracing. */
    ...tracingEnv,
  })
  .superRefine(requiredInProduction('REDIS_URL'))
  .superRefine((config, ctx) => {
    if (config.WORKER_BACKEND !== 'openai') return;
    if (!config.OPENAI_BASE_URL) ctx.addIssue({ code: 'custom', path: ['OPENAI_BASE_URL'], message: 'required when WORKER_BACKEND=openai' });
    if (Object.keys(config.OPENAI_MODEL_MAP).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['OPENAI_MODEL_MAP'], message: 'needs at least one model when WORKER_BACKEND=openai' });
    }
  });

export type WorkerConfig = z.output<typeof workerEnvSchema>;

export function loadWorkerConfig(environment: Record<string, string | undefined>): WorkerConfig {
  return parseEnv(workerEnvSchema, environment);
}
