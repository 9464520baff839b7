import { type ExecutionArgs, type ExecutionResult, parse } from 'graphql';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';

import { anonymousPrincipal, type Principal } from '../../lib/auth/principal.js';
import { quotasOf } from '../../lib/plans/quotas.js';
import type { Redis } from '../../lib/redis.js';
import type { PlanDirectory } from './plan-directory.js';
import { createRequestQuota } from './use-request-quota.js';

// The plugin's onExecute over a Redis whose counting script the test answers, for a mutation
// (counted before it runs; a query's count alongside its execution: test/request-quota.e2e.ts).
const MUTATION = parse('mutation { greet }');

function setUp(reply: Promise<[number, number]>) {
  const countRequestQuota = vi.fn(() => reply);
  const redis = { defineCommand: () => {}, countRequestQuota } as unknown as Redis;
  const directory = { quotasOf: (tier: string) => quotasOf(null, tier) } as unknown as PlanDirectory;
  const quota = createRequestQuota({ directory, redis, clock: { now: () => new Date('2026-12-01T12:00:00Z') }, logger: pino({ level: 'silent' }) });
  const stopped: ExecutionResult[] = [];
  const onExecute = (principal: Principal) =>
    (quota.plugin.onExecute as (payload: unknown) => unknown)({
      args: { document: MUTATION, contextValue: { principal } } as unknown as ExecutionArgs,
      setResultAndStopExecution: (result: ExecutionResult) => void stopped.push(result),
    });
  return { countRequestQuota, onExecute, stopped };
}

const user: Principal = { ...anonymousPrincipal(null), kind: 'user', userId: 'u1', subject: 'user:u1', plan: 'free' };

describe('the monthly request quota plugin', () => {
  it('leaves a caller without a user uncounted, with no promise for the pipeline to wait on', () => {
    const { countRequestQuota, onExecute, stopped } = setUp(Promise.resolve([1, 1]));
    expect(onExecute(anonymousPrincipal('127.0.0.1'))).toBeUndefined();
    expect(countRequestQuota).not.toHaveBeenCalled();
    expect(stopped).toEqual([]);
  });

  it("counts a user's operation and refuses it past a hard quota; Redis down, it runs", async () => {
    const over = setUp(Promise.resolve([0, 100_000]));
    await over.onExecute(user);
    expect(over.countRequestQuota).toHaveBeenCalledOnce();
    expect(over.stopped.map((result) => result.errors?.[0]?.extensions?.code)).toEqual(['QUOTA_EXCEEDED']);

    const down = setUp(Promise.reject(new Error('Connection is closed.')));
    await down.onExecute(user);
    expect(down.stopped).toEqual([]);
  });
});
