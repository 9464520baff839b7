import type { Registry } from 'prom-client';

import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { Redis } from '../../lib/redis.js';
import type { GatewayConfig } from '../config.js';
import type { CostBudget } from '../cost/budget.js';
import type { RateLimitPlans } from './plans.js';
import { createRedisCostBudget } from './redis-budget.js';

export { createRedisCostBudget, type RateLimitFailurePolicy } from './redis-budget.js';

/** The gateway's cost budget as configured (RATE_LIMIT_ALGORITHM, RATE_LIMIT_REDIS_FAILURE, RATE_LIMIT_PLANS, RATE_LIMIT_LEASE_MS). */
export function createRateLimitBudget(
  config: Pick<GatewayConfig, 'RATE_LIMIT_ALGORITHM' | 'RATE_LIMIT_REDIS_FAILURE' | 'RATE_LIMIT_PLANS' | 'RATE_LIMIT_LEASE_MS'>,
  deps: { redis: Redis; clock: Clock; logger: Logger; registry: Registry; plans?: () => RateLimitPlans },
): CostBudget {
  return createRedisCostBudget({
    ...deps,
    // The plan catalogue's limits when given (gateway/plans/), which default to RATE_LIMIT_PLANS.
    plans: deps.plans ?? config.RATE_LIMIT_PLANS,
    algorithm: config.RATE_LIMIT_ALGORITHM,
    failurePolicy: config.RATE_LIMIT_REDIS_FAILURE,
    leaseMs: config.RATE_LIMIT_LEASE_MS,
  });
}
