import { randomBytes, randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { connectRedis } from '../redis.js';
import {
  type ActionDecision,
  AUTONOMY_ACTIONS_STREAM,
  AUTONOMY_DECISIONS_STREAM,
  parseActionDecision,
  parseProposedAction,
  proposeAction,
  type ProposedAction,
  publishDecision,
} from './actions.js';
import { actionHandlingAt, AUTONOMY_LEVELS } from './levels.js';
import { systemPromptFor } from './prompts.js';

const action = (overrides: Partial<ProposedAction> = {}): ProposedAction => ({
  actionId: randomUUID(),
  jobId: randomUUID(),
  userId: randomUUID(),
  context: 'email',
  name: 'send_email',
  arguments: '{"to":"ada@example.com"}',
  proposedAt: new Date().toISOString(),
  ...overrides,
});

describe('the autonomy action streams', () => {
  it('appends a proposal that the consumer reads back as it was, context left out when null', async () => {
    const redis = await connectRedis({ keyPrefix: `t${randomBytes(4).toString('hex')}:` });
    try {
      const withContext = action();
      const withoutContext = action({ context: null });
      await proposeAction(redis, withContext);
      await proposeAction(redis, withoutContext);
      const entries = await redis.xrange(AUTONOMY_ACTIONS_STREAM, '-', '+');
      expect(entries.map(([, fields]) => parseProposedAction(fields))).toEqual([{ action: withContext }, { action: withoutContext }]);
      expect(entries[1]![1]).not.toContain('context');
    } finally {
      redis.disconnect();
    }
  });

  it('refuses a proposal that breaks the contract before writing anything', async () => {
    const redis = await connectRedis({ keyPrefix: `t${randomBytes(4).toString('hex')}:` });
    try {
      for (const bad of [
        action({ arguments: 'not json' }),
        action({ actionId: 'not-a-uuid' }),
        action({ context: 'Not A Context' }),
        action({ name: '' }),
        action({ arguments: JSON.stringify({ text: 'x'.repeat(20_000) }) }),
      ]) {
        await expect(proposeAction(redis, bad)).rejects.toThrow();
      }
      expect(await redis.xlen(AUTONOMY_ACTIONS_STREAM)).toBe(0);
    } finally {
      redis.disconnect();
    }
  });

  it('says why an entry is not a proposal', () => {
    expect(parseProposedAction(['actionId', 'x', 'name', 'y'])).toEqual({ error: expect.stringContaining('actionId') });
  });

  it('publishes decisions that parse back, reason left out when null', async () => {
    const redis = await connectRedis({ keyPrefix: `t${randomBytes(4).toString('hex')}:` });
    try {
      const decision: ActionDecision = {
        actionId: randomUUID(),
        jobId: randomUUID(),
        userId: randomUUID(),
        decision: 'AUTO_APPROVED',
        reason: null,
        decidedBy: 'autonomy:auto',
        decidedAt: new Date().toISOString(),
      };
      await publishDecision(redis, decision);
      const [[, fields]] = (await redis.xrange(AUTONOMY_DECISIONS_STREAM, '-', '+')) as [[string, string[]]];
      expect(fields).not.toContain('reason');
      expect(parseActionDecision(fields)).toEqual(decision);
      expect(parseActionDecision(['actionId', decision.actionId])).toBeNull();
    } finally {
      redis.disconnect();
    }
  });
});

describe('levels', () => {
  it('holds actions below AGENT, approves them at AGENT and refuses them at NO_AI', () => {
    expect(AUTONOMY_LEVELS.map(actionHandlingAt)).toEqual(['refused', 'held', 'held', 'held', 'automatic']);
  });

  it('has a distinct system prompt for every level that runs a model, and none for NO_AI', () => {
    expect(systemPromptFor('NO_AI')).toBeNull();
    const prompts = AUTONOMY_LEVELS.filter((level) => level !== 'NO_AI').map(systemPromptFor);
    expect(new Set(prompts).size).toBe(4);
    for (const prompt of prompts) expect(prompt).toMatch(/tool/);
    expect(systemPromptFor('AGENT')).toMatch(/without asking/);
    expect(systemPromptFor('COLLABORATOR')).toMatch(/approve/);
  });
});
