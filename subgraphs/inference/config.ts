import { z } from 'zod';

import { env, parseEnv } from '../../lib/config.js';
import { serviceEnvSchema } from '../../lib/service.js';
import { SUBGRAPHS } from '../../lib/subgraph-list.js';

/** The inference subgraph process's settings (see the README's configuration table). */
export const inferenceEnvSchema = serviceEnvSchema(SUBGRAPHS.inference.port).extend({
  /** Where the autonomy subgraph answers `_entities` (the caller's effective level, asked before every job). */
  AUTONOMY_SUBGRAPH_URL: z.url().default(`http://127.0.0.1:${SUBGRAPHS.autonomy.port}/graphql`),
  /** @default 3_000 // ms: past this the autonomy level is unknown and the job is refused (fail closed). */
  AUTONOMY_TIMEOUT_MS: env.positiveInt(3_000),
  /**
   * @default 60 // s a learned autonomy level is reused at most. A change replaces the user's
   * marker in Redis and applies to the next job anyway; this bounds a level's life should that
   * marker be lost. 0: ask the autonomy subgraph for every job.
   */
  INFERENCE_AUTONOMY_CACHE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
  /** @default 256 // tokens generated when a request names no maxTokens. */
  INFERENCE_DEFAULT_MAX_TOKENS: env.positiveInt(256),
  /** @default 4_096 // the most maxTokens a request may ask for (also never above the model's context window). */
  INFERENCE_MAX_TOKENS: env.positiveInt(4_096),
  /** @default 32_000 // characters of prompt (all messages together): about 8,000 tokens, well past any model here. */
  INFERENCE_MAX_PROMPT_CHARS: env.positiveInt(32_000),
  /** @default 100 // messages in one chat request. */
  INFERENCE_MAX_MESSAGES: env.positiveInt(100),
  /** @default 4 // stop sequences per request (OpenAI's limit). */
  INFERENCE_MAX_STOP_SEQUENCES: env.positiveInt(4),
  /** @default 64 // characters of one stop sequence. */
  INFERENCE_MAX_STOP_LENGTH: env.positiveInt(64),
  /** @default 4 // queued plus running jobs one user may have; beyond, RATE_LIMITED. */
  INFERENCE_MAX_ACTIVE_JOBS_PER_USER: env.positiveInt(4),
  /** @default 1_000 // jobs waiting in the queue beyond which submissions fail fast with RATE_LIMITED. */
  INFERENCE_MAX_QUEUE_DEPTH: env.positiveInt(1_000),
  /** @default 10 // s: the retryAfter of a submission refused for too many active jobs or a full queue. */
  INFERENCE_RETRY_AFTER_SECONDS: env.positiveInt(10),
  /** @default 60 // s a deterministic completion stays in the response cache; 0 turns the cache off. */
  INFERENCE_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).default(60),
  /** @default 3_600 // s a finished job's event log stays readable (the bus's retention; the text stays on the job). */
  INFERENCE_STREAM_TTL_SECONDS: env.positiveInt(3_600),
});

export type InferenceConfig = z.output<typeof inferenceEnvSchema>;

export function loadInferenceConfig(environment: Record<string, string | undefined>): InferenceConfig {
  return parseEnv(inferenceEnvSchema, environment);
}
