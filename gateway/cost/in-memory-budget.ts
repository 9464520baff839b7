import type { Principal } from '../../lib/auth/principal.js';
import type { Clock } from '../../lib/clock.js';
import type { BudgetDecision, CostBudget, ThrottleStatus } from './budget.js';
import { type CostPlans, planOf } from './plans.js';

interface Bucket {
  available: number;
  at: number;
}

/** The bucket a principal spends from: its user, API key or, anonymous, its client IP. */
export function bucketKeyOf(principal: Principal): string {
  if (principal.apiKeyId) return `apiKey:${principal.apiKeyId}`;
  if (principal.userId) return `user:${principal.userId}`;
  if (principal.kind === 'anonymous') return `ip:${principal.clientIp ?? 'unknown'}`;
  return principal.subject;
}

/**
 * A token bucket per caller in this process's memory: the budget of a single gateway (tests,
 * development) and the rate limiter's stand-in when Redis is down (fail-open). Buckets
 * start full, restore continuously at the plan's rate, and are forgotten once full again.
 */
export function createInMemoryBudget(options: { plans: CostPlans; clock: Clock }): CostBudget {
  const buckets = new Map<string, Bucket>();
  const { clock } = options;

  /** The bucket restored up to now (not stored). */
  const current = (principal: Principal) => {
    const plan = planOf(options.plans, principal);
    const key = bucketKeyOf(principal);
    const now = clock.now().getTime();
    const stored = buckets.get(key);
    const elapsed = stored ? Math.max(0, now - stored.at) / 1000 : 0;
    const available = stored ? Math.min(plan.bucket, stored.available + elapsed * plan.restorePerSecond) : plan.bucket;
    return { plan, key, now, available };
  };

  const statusOf = (state: ReturnType<typeof current>): ThrottleStatus => {
    const missing = state.plan.bucket - state.available;
    return {
      maximumAvailable: state.plan.bucket,
      currentlyAvailable: Math.floor(state.available),
      restoreRate: state.plan.restorePerSecond,
      resetAt: new Date(state.now + Math.ceil((missing / state.plan.restorePerSecond) * 1000)).toISOString(),
    };
  };

  const store = (state: ReturnType<typeof current>) => {
    if (state.available >= state.plan.bucket) buckets.delete(state.key);
    else buckets.set(state.key, { available: state.available, at: state.now });
  };

  return {
    async take(principal, cost): Promise<BudgetDecision> {
      const state = current(principal);
      if (cost > state.available) {
        const retryAfterSeconds = Math.max(1, Math.ceil((cost - state.available) / state.plan.restorePerSecond));
        return { allowed: false, status: statusOf(state), retryAfterSeconds };
      }
      state.available -= cost;
      store(state);
      return { allowed: true, status: statusOf(state) };
    },
    async refund(principal, amount) {
      const state = current(principal);
      state.available = Math.min(state.plan.bucket, state.available + Math.max(0, amount));
      store(state);
      return statusOf(state);
    },
    async peek(principal) {
      return statusOf(current(principal));
    },
  };
}
