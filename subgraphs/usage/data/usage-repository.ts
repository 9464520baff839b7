import type { Plan } from './__generated__/prisma/client.js';
import type { UsagePrisma } from './database.js';

/** Every user without an account row is on this plan. */
export const DEFAULT_PLAN_ID = 'free';

export interface UsageTotals {
  requests: number;
  tokensIn: number;
  tokensOut: number;
}

export const NO_USAGE: UsageTotals = { requests: 0, tokensIn: 0, tokensOut: 0 };

export function createUsageRepository(prisma: UsagePrisma) {
  return {
    listPlans: () => prisma.plan.findMany({ orderBy: { priceCentsPerMonth: 'asc' } }),
    defaultPlan: () => prisma.plan.findUniqueOrThrow({ where: { id: DEFAULT_PLAN_ID } }),
    /** Each user's plan by user id (the default plan without an account row): two statements for any number of users. */
    async plansOfUsers(userIds: string[]): Promise<Map<string, Plan>> {
      const accounts = await prisma.account.findMany({ where: { userId: { in: userIds } }, select: { userId: true, planId: true } });
      const planIdOf = new Map(accounts.map((account) => [account.userId, account.planId]));
      const plans = await prisma.plan.findMany({ where: { id: { in: [...new Set([DEFAULT_PLAN_ID, ...planIdOf.values()])] } } });
      const planById = new Map(plans.map((plan) => [plan.id, plan]));
      return new Map(
        userIds.flatMap((userId) => {
          const plan = planById.get(planIdOf.get(userId) ?? DEFAULT_PLAN_ID);
          return plan ? [[userId, plan] as const] : [];
        }),
      );
    },
    /** Each user's totals over [start, end) days by user id (users without usage are left out): one statement. */
    async totalsOfUsers(userIds: string[], start: Date, end: Date): Promise<Map<string, UsageTotals>> {
      const groups = await prisma.usageDaily.groupBy({
        by: ['userId'],
        where: { userId: { in: userIds }, day: { gte: start, lt: end } },
        _sum: { requests: true, tokensIn: true, tokensOut: true },
      });
      return new Map(
        groups.map(({ userId, _sum }) => [userId, { requests: _sum.requests ?? 0, tokensIn: _sum.tokensIn ?? 0, tokensOut: _sum.tokensOut ?? 0 }]),
      );
    },
  };
}

export type UsageRepository = ReturnType<typeof createUsageRepository>;
