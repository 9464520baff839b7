import type { WorkerConfig } from '../config.js';
import type { InferenceBackend } from './backend.js';
import { createBuiltinBackend } from './builtin/builtin-backend.js';
import { createOpenAiBackend } from './openai/openai-backend.js';

export { BackendError, type BackendOutput, type InferenceBackend } from './backend.js';

/** The backend WORKER_BACKEND names, configured from the worker's settings. */
export function createBackend(config: WorkerConfig): InferenceBackend {
  if (config.WORKER_BACKEND === 'builtin') return createBuiltinBackend({ tokenDelayMs: config.BUILTIN_TOKEN_DELAY_MS });
  return createOpenAiBackend({
    baseUrl: config.OPENAI_BASE_URL!,
    apiKey: config.OPENAI_API_KEY,
    modelMap: config.OPENAI_MODEL_MAP,
    connectTimeoutMs: config.OPENAI_CONNECT_TIMEOUT_MS,
    firstTokenTimeoutMs: config.OPENAI_FIRST_TOKEN_TIMEOUT_MS,
    idleTimeoutMs: config.OPENAI_IDLE_TIMEOUT_MS,
  });
}
