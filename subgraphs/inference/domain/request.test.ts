import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';

import type { SubmitInferenceInput } from '../__generated__/resolvers-types.js';
import { inferenceEnvSchema } from '../config.js';
import { cacheKeyOf, isDeterministic, validateRequest } from './request.js';
import { priorityOf } from './submission.js';
import { withSystemPrompt } from './system-prompts.js';

const limits = inferenceEnvSchema.parse({});
const argumentOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError);
    return { code: (error as GraphQLError).extensions.code, argument: (error as GraphQLError).extensions.argument };
  }
  throw new Error('no error');
};

describe('inference request rules', () => {
  it('normalizes a prompt into one user message with the defaults, and a chat keeping its roles', () => {
    expect(validateRequest({ model: 'm', prompt: 'Hi' }, limits)).toEqual({
      model: 'm',
      prompt: 'Hi',
      messages: [{ role: 'user', content: 'Hi' }],
      maxTokens: 256,
      temperature: 1,
      topP: 1,
      stop: [],
      seed: null,
      context: null,
    });
    const chat = validateRequest({ model: 'm', messages: [{ role: 'USER', content: 'a' }, { role: 'ASSISTANT', content: 'b' }, { role: 'USER', content: 'c' }] }, limits);
    expect(chat.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user']);
    expect(chat.prompt).toBe('c');
  });

  it('counts the prompt limit over every message together', () => {
    const half = 'x'.repeat(limits.INFERENCE_MAX_PROMPT_CHARS / 2);
    expect(() => validateRequest({ model: 'm', messages: [{ role: 'USER', content: half }, { role: 'ASSISTANT', content: half }] }, limits)).not.toThrow();
    expect(argumentOf(() => validateRequest({ model: 'm', messages: [{ role: 'USER', content: half }, { role: 'USER', content: `${half}x` }] }, limits))).toEqual({
      code: 'BAD_USER_INPUT',
      argument: 'input.messages',
    });
  });

  it('accepts the edges of each range and refuses just past them', () => {
    for (const [input, ok] of [
      [{ maxTokens: 1 }, true],
      [{ maxTokens: limits.INFERENCE_MAX_TOKENS }, true],
      [{ temperature: 0 }, true],
      [{ temperature: 2 }, true],
      [{ topP: 1 }, true],
      [{ topP: 1.01 }, false],
      [{ seed: 0 }, true],
      [{ stop: ['a', 'b', 'c', 'd'] }, true],
      [{ stop: [''] }, false],
      [{ context: 'email.drafts' }, true],
      [{ context: '-leading-dash' }, false],
    ] as Array<[Partial<SubmitInferenceInput>, boolean]>) {
      const run = () => validateRequest({ model: 'm', prompt: 'Hi', ...input }, limits);
      if (ok) expect(run, JSON.stringify(input)).not.toThrow();
      else expect(argumentOf(run).code, JSON.stringify(input)).toBe('BAD_USER_INPUT');
    }
  });

  it('is deterministic with temperature 0 or a seed, and keys the cache by everything that shapes the answer', () => {
    const request = validateRequest({ model: 'm', prompt: 'Hi', temperature: 0 }, limits);
    expect(isDeterministic(request)).toBe(true);
    expect(isDeterministic({ temperature: 0.5, seed: null })).toBe(false);
    expect(isDeterministic({ temperature: 0.5, seed: 1 })).toBe(true);
    const assisted = cacheKeyOf({ ...request, messages: withSystemPrompt('ASSISTED', request.messages) });
    expect(cacheKeyOf({ ...request, messages: withSystemPrompt('ASSISTED', request.messages) })).toBe(assisted);
    expect(cacheKeyOf({ ...request, messages: withSystemPrompt('AGENT', request.messages) })).not.toBe(assisted);
    expect(cacheKeyOf({ ...request, maxTokens: 7, messages: withSystemPrompt('ASSISTED', request.messages) })).not.toBe(assisted);
  });

  it('maps plan tiers to queue priorities, unknown tiers lowest', () => {
    expect(['enterprise', 'pro', 'free', 'partner-trial'].map(priorityOf)).toEqual(['high', 'normal', 'low', 'low']);
  });
});
