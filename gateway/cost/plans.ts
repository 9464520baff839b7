import { z } from 'zod';

import type { Principal } from '../../lib/auth/principal.js';
import { env } from '../../lib/config.js';

/**
 * One plan tier's per-operation ceiling. Its budget over time (bucket size, restore rate) is
 * the rate limiter's, `RATE_LIMIT_PLANS` (gateway/rate-limit/plans.ts).
 */
export interface CostPlan {
  /** The most one operation may cost (COST_LIMIT_EXCEEDED beyond). */
  maxOperationCost: number;
}

export type CostPlans = Readonly<Record<string, CostPlan>>;

/**
 * The defaults: a ceiling of 1,000 per operation on free (the size of its bucket, so one
 * operation can always fit an idle budget), pro ×10, enterprise ×100. A principal of a plan
 * not listed gets `free`.
 */
export const DEFAULT_COST_PLANS: CostPlans = {
  free: { maxOperationCost: 1_000 },
  pro: { maxOperationCost: 10_000 },
  enterprise: { maxOperationCost: 100_000 },
};

const planSchema = z.object({
  maxOperationCost: z.number().int().positive(),
});

/**
 * `COST_PLANS`: a JSON object from plan name to a partial plan, merged over the defaults
 * (`{"free":{"maxOperationCost":500}}` changes only the free ceiling).
 */
export const costPlanSchema = env
  .json(z.record(z.string(), planSchema.partial()), '{}', 'a JSON object of plan name to {maxOperationCost}')
  .transform((partials) => {
    const plans: Record<string, CostPlan> = { ...DEFAULT_COST_PLANS };
    for (const [name, partial] of Object.entries(partials)) plans[name] = { ...(plans[name] ?? DEFAULT_COST_PLANS.free!), ...partial };
    return plans as CostPlans;
  });

/** The principal's plan; unknown plan names fall back to `free`, which always exists. */
export function planOf(plans: CostPlans, principal: Pick<Principal, 'plan'>): CostPlan {
  return plans[principal.plan] ?? plans.free ?? DEFAULT_COST_PLANS.free!;
}
