import { z } from 'zod';

import type { Principal } from '../../lib/auth/principal.js';

/** One plan tier's cost budget and per-operation ceiling. */
export interface CostPlan {
  /** The bucket's size: the most cost a caller can spend at once. */
  bucket: number;
  /** Cost restored per second. */
  restorePerSecond: number;
  /** The most one operation may cost (COST_LIMIT_EXCEEDED beyond). */
  maxOperationCost: number;
}

export type CostPlans = Readonly<Record<string, CostPlan>>;

/**
 * The defaults: free {bucket 1,000, restore 50/s, ceiling 1,000} (Shopify's standard
 * throttle), pro ×10, enterprise ×100. A principal of a plan not listed gets `free`.
 */
export const DEFAULT_COST_PLANS: CostPlans = {
  free: { bucket: 1_000, restorePerSecond: 50, maxOperationCost: 1_000 },
  pro: { bucket: 10_000, restorePerSecond: 500, maxOperationCost: 10_000 },
  enterprise: { bucket: 100_000, restorePerSecond: 5_000, maxOperationCost: 100_000 },
};

const planSchema = z.object({
  bucket: z.number().int().positive(),
  restorePerSecond: z.number().positive(),
  maxOperationCost: z.number().int().positive(),
});

/**
 * `COST_PLANS`: a JSON object from plan name to a partial plan, merged over the defaults
 * (`{"free":{"bucket":50}}` changes only the free bucket). Shared by the cost analysis
 * (`gateway/cost/`) and the rate limiter (`gateway/rate-limit/`).
 */
export const costPlanSchema = z
  .string()
  .default('{}')
  .transform((value, ctx) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected a JSON object of plan name to {bucket, restorePerSecond, maxOperationCost}' });
      return z.NEVER;
    }
    const result = z.record(z.string(), planSchema.partial()).safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      ctx.addIssue({ code: 'custom', message: `${issue.path.join('.')}: ${issue.message}` });
      return z.NEVER;
    }
    const plans: Record<string, CostPlan> = { ...DEFAULT_COST_PLANS };
    for (const [name, partial] of Object.entries(result.data)) {
      const merged = { ...(plans[name] ?? DEFAULT_COST_PLANS.free!), ...partial };
      plans[name] = planSchema.parse(merged);
    }
    return plans as CostPlans;
  });

/** The principal's plan; unknown plan names fall back to `free`, which always exists. */
export function planOf(plans: CostPlans, principal: Pick<Principal, 'plan'>): CostPlan {
  return plans[principal.plan] ?? plans.free ?? DEFAULT_COST_PLANS.free!;
}
