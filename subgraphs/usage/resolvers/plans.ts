import { isUuid } from '../../../lib/ids.js';
import type { Resolvers } from '../__generated__/resolvers-types.js';
import type { PlansRepository } from '../data/plans-repository.js';
import { type Plans, quotaKindOf } from '../domain/plans.js';

/** `plans`, `updatePlan`, `changePlan`, the `Plan` type and `User.plan`. */
export function createPlanResolvers(deps: { plans: Plans; repository: PlansRepository }) {
  const { plans, repository } = deps;
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
    // Reached through the owner-checked User reference (resolvers/index.ts).
    User: {
      plan: (user) => (isUuid(user.id) ? repository.planOfUser(user.id) : repository.defaultPlan()),
    },
  } satisfies Pick<Resolvers, 'Query' | 'Mutation' | 'Plan'> & { User: Pick<NonNullable<Resolvers['User']>, 'plan'> };
}
