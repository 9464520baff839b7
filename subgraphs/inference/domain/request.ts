import { createHash } from 'node:crypto';

import { CONTEXT_PATTERN, CONTEXT_RULE } from '../../../lib/autonomy/levels.js';
import { badUserInput } from '../../../lib/errors.js';
import type { ChatMessage } from '../../../lib/inference/contract.js';
import type { SubmitInferenceInput } from '../__generated__/resolvers-types.js';
import type { InferenceConfig } from '../config.js';

/** What a client may ask for, within the platform's limits (see the README's configuration table). */
export type RequestLimits = Pick<
  InferenceConfig,
  | 'INFERENCE_DEFAULT_MAX_TOKENS'
  | 'INFERENCE_MAX_TOKENS'
  | 'INFERENCE_MAX_PROMPT_CHARS'
  | 'INFERENCE_MAX_MESSAGES'
  | 'INFERENCE_MAX_STOP_SEQUENCES'
  | 'INFERENCE_MAX_STOP_LENGTH'
>;

/** A submission that passed validation: the caller's conversation (no system prompt yet) and sampling. */
export interface CompletionRequest {
  model: string;
  /** The prompt as given, or the last user message of a chat. */
  prompt: string;
  messages: ChatMessage[];
  maxTokens: number;
  temperature: number;
  topP: number;
  stop: string[];
  seed: number | null;
  context: string | null;
}

/** Sampling ranges, as OpenAI-compatible servers accept them. */
export const TEMPERATURE_RANGE = { min: 0, max: 2 } as const;
/** A seed is a non-negative 32-bit integer (GraphQL's Int is signed 32-bit). */
const MAX_SEED = 2_147_483_647;

const invalid = (argument: string, message: string) => badUserInput(message, { argument: `input.${argument}` });

/**
 * Checks a submission against the limits and normalizes it. Throws BAD_USER_INPUT naming the
 * offending field in `extensions.argument` (`input.prompt`, `input.maxTokens`, …). The model's
 * existence and context window are checked by the caller, which reads the model.
 */
export function validateRequest(input: SubmitInferenceInput, limits: RequestLimits): CompletionRequest {
  const messages = conversationOf(input, limits);
  const maxTokens = input.maxTokens ?? limits.INFERENCE_DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > limits.INFERENCE_MAX_TOKENS) {
    throw invalid('maxTokens', `maxTokens must be between 1 and ${limits.INFERENCE_MAX_TOKENS}`);
  }
  const temperature = input.temperature ?? 1;
  if (!Number.isFinite(temperature) || temperature < TEMPERATURE_RANGE.min || temperature > TEMPERATURE_RANGE.max) {
    throw invalid('temperature', `temperature must be between ${TEMPERATURE_RANGE.min} and ${TEMPERATURE_RANGE.max}`);
  }
  const topP = input.topP ?? 1;
  if (!Number.isFinite(topP) || topP <= 0 || topP > 1) throw invalid('topP', 'topP must be greater than 0 and at most 1');
  const stop = input.stop ?? [];
  if (stop.length > limits.INFERENCE_MAX_STOP_SEQUENCES) {
    throw invalid('stop', `at most ${limits.INFERENCE_MAX_STOP_SEQUENCES} stop sequences`);
  }
  if (stop.some((sequence) => sequence.length === 0 || sequence.length > limits.INFERENCE_MAX_STOP_LENGTH)) {
    throw invalid('stop', `each stop sequence must be 1 to ${limits.INFERENCE_MAX_STOP_LENGTH} characters`);
  }
  const seed = input.seed ?? null;
  if (seed !== null && (seed < 0 || seed > MAX_SEED)) throw invalid('seed', `seed must be between 0 and ${MAX_SEED}`);
  const context = input.context ?? null;
  if (context !== null && !CONTEXT_PATTERN.test(context)) throw invalid('context', `context must be ${CONTEXT_RULE}`);
  const lastUser = messages.findLast((message) => message.role === 'user');
  return { model: input.model, prompt: lastUser?.content ?? '', messages, maxTokens, temperature, topP, stop, seed, context };
}

function conversationOf(input: SubmitInferenceInput, limits: RequestLimits): ChatMessage[] {
  const hasPrompt = input.prompt != null;
  const hasMessages = input.messages != null;
  if (hasPrompt === hasMessages) throw invalid(hasPrompt ? 'messages' : 'prompt', 'give either prompt or messages, not both');
  const messages: ChatMessage[] = hasPrompt
    ? [{ role: 'user', content: input.prompt! }]
    : input.messages!.map((message) => ({ role: message.role === 'USER' ? 'user' : 'assistant', content: message.content }));
  const field = hasPrompt ? 'prompt' : 'messages';
  if (messages.length === 0) throw invalid(field, 'messages must not be empty');
  if (messages.length > limits.INFERENCE_MAX_MESSAGES) throw invalid(field, `at most ${limits.INFERENCE_MAX_MESSAGES} messages`);
  if (messages.some((message) => message.content.trim() === '')) throw invalid(field, `${hasPrompt ? 'prompt' : 'every message'} must not be empty`);
  if (!messages.some((message) => message.role === 'user')) throw invalid(field, 'messages need at least one USER message');
  const characters = messages.reduce((sum, message) => sum + message.content.length, 0);
  if (characters > limits.INFERENCE_MAX_PROMPT_CHARS) {
    throw invalid(field, `the prompt is ${characters} characters; at most ${limits.INFERENCE_MAX_PROMPT_CHARS}`);
  }
  return messages;
}

/** temperature 0 or a fixed seed: the same request gives the same completion, so it may be cached. */
export const isDeterministic = (request: Pick<CompletionRequest, 'temperature' | 'seed'>) => request.temperature === 0 || request.seed !== null;

/**
 * The response-cache key of a deterministic request: SHA-256 over everything that shapes the
 * completion, the system prompt of the autonomy level included (two levels answer differently).
 */
export function cacheKeyOf(request: Omit<CompletionRequest, 'prompt' | 'context'>): string {
  const { model, messages, maxTokens, temperature, topP, stop, seed } = request;
  return createHash('sha256').update(JSON.stringify([model, messages, maxTokens, temperature, topP, stop, seed])).digest('hex');
}
