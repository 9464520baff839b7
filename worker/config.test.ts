import { describe, expect, it } from 'vitest';

import { ConfigError } from '../lib/config.js';
import { loadWorkerConfig } from './config.js';

describe('worker configuration', () => {
  it('defaults to the built-in backend, which needs no other setting', () => {
    expect(loadWorkerConfig({})).toMatchObject({ WORKER_BACKEND: 'builtin', WORKER_CONCURRENCY: 4, OPENAI_MODEL_MAP: {} });
  });

  it('requires the server and at least one model with the openai backend', () => {
    expect(() => loadWorkerConfig({ WORKER_BACKEND: 'openai', OPENAI_MODEL_MAP: '{"m":"m"}' })).toThrow(/OPENAI_BASE_URL: required when WORKER_BACKEND=openai/);
    expect(() => loadWorkerConfig({ WORKER_BACKEND: 'openai', OPENAI_BASE_URL: 'http://vllm:8000/v1' })).toThrow(/OPENAI_MODEL_MAP: needs at least one model/);
    expect(loadWorkerConfig({ WORKER_BACKEND: 'openai', OPENAI_BASE_URL: 'http://vllm:8000/v1', OPENAI_MODEL_MAP: '{"qwen":"Qwen/Qwen2.5-7B-Instruct"}' }).OPENAI_MODEL_MAP).toEqual({ qwen: 'Qwen/Qwen2.5-7B-Instruct' });
  });

  it('refuses a model map that is not a JSON object of names', () => {
    expect(() => loadWorkerConfig({ OPENAI_MODEL_MAP: '{not json' })).toThrow(/OPENAI_MODEL_MAP: expected a JSON object/);
    expect(() => loadWorkerConfig({ OPENAI_MODEL_MAP: '{"m":""}' })).toThrow(ConfigError);
  });
});
