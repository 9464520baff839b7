import type { Resolvers } from '../__generated__/resolvers-types.js';
import { type Plans, quotaKindOf } from '../domain/plans.js';

/** `plans`, `updatePlan`, `changePlan` and the `Plan` type (`User.plan` batches through `loaders.plan`: resolvers/index.ts). */
export function createPlanResolvers(deps: { plans: Plans }) {
  const { plans } = deps;
  return {
    Query: {
      plans: () => plans.listPlans(),
    },
    Mutation: {
      updatePlan: (_parent, { id, input }, { principal }) => plans.updatePlan(principal, id, input),
      changePlan: (_parent, { planId, userId }, { principal }) => plans.changePlan(principal, planId, userId),
    },
    Plan: {
      rateLimit: (plan) => ({
        bucketSize: plan.bucketSize,
        restorePerSecond: plan.restorePerSecond,
        requestsPerWindow: plan.requestsPerWindow,
        windowSeconds: plan.windowSeconds,
      }),
      requestQuotaKind: (plan) => quotaKindOf(plan.requestQuotaHard),
      tokenQuotaKind: (plan) => quotaKindOf(plan.tokenQuotaHard),
    },
  } satisfies Pick<Resolvers, 'Query' | 'Mutation' | 'Plan'>;
}
