import { describe, expect, it } from 'vitest';

import { anonymousPrincipal, type Principal } from '../../lib/auth/principal.js';
import { createInMemoryBudget } from './in-memory-budget.js';
import { costPlanSchema } from './plans.js';

const plans = costPlanSchema.parse('{"free":{"bucket":100,"restorePerSecond":10}}');
const user = (id: string, plan = 'free'): Principal => ({ ...anonymousPrincipal(null), kind: 'user', userId: id, subject: `user:${id}`, plan });

function setup() {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const clock = { now: () => new Date(now) };
  return { budget: createInMemoryBudget({ plans, clock }), advance: (ms: number) => void (now += ms) };
}

describe('in-memory cost budget (token bucket)', () => {
  it('starts full, takes what fits and refuses the rest with whole seconds until it fits', async () => {
    const { budget } = setup();
    expect(await budget.take(user('a'), 80)).toMatchObject({ allowed: true, status: { maximumAvailable: 100, currentlyAvailable: 20, restoreRate: 10 } });
    // 50 needed, 20 there, 10/s: 3 s.
    expect(await budget.take(user('a'), 50)).toMatchObject({ allowed: false, retryAfterSeconds: 3, status: { currentlyAvailable: 20 } });
    expect((await budget.peek(user('b'))).currentlyAvailable).toBe(100);
  });

  it('restores at the plan rate, never above the bucket, and says when it is full again', async () => {
    const { budget, advance } = setup();
    await budget.take(user('a'), 100);
    advance(2_500);
    const status = await budget.peek(user('a'));
    expect(status.currentlyAvailable).toBe(25);
    expect(status.resetAt).toBe('2026-01-01T00:00:10.000Z');
    advance(60_000);
    expect((await budget.peek(user('a'))).currentlyAvailable).toBe(100);
  });

  it('refunds the difference, capped at the bucket size', async () => {
    const { budget } = setup();
    await budget.take(user('a'), 60);
    expect((await budget.refund(user('a'), 45)).currentlyAvailable).toBe(85);
    expect((await budget.refund(user('a'), 1_000)).currentlyAvailable).toBe(100);
  });

  it('sizes the bucket by the principal plan, unknown plans as free, with defaults merged under COST_PLANS', async () => {
    const { budget } = setup();
    expect((await budget.peek(user('p', 'pro'))).maximumAvailable).toBe(10_000);
    expect((await budget.peek(user('x', 'platinum'))).maximumAvailable).toBe(100);
    expect(plans.free).toEqual({ bucket: 100, restorePerSecond: 10, maxOperationCost: 1_000 });
    expect(() => costPlanSchema.parse('{"free":{"bucket":-1}}')).toThrow();
  });

  it('keeps anonymous callers apart by client IP', async () => {
    const { budget } = setup();
    await budget.take(anonymousPrincipal('10.0.0.1'), 100);
    expect((await budget.peek(anonymousPrincipal('10.0.0.2'))).currentlyAvailable).toBe(100);
  });
});
