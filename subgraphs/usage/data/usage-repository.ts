import type { Plan } from './__generated__/prisma/client.js';
import type { UsagePrisma } from './database.js';
import { DEFAULT_PLAN_ID } from './plans-repository.js';

export interface UsageTotals {
  requests: number;
  errors: number;
  tokensIn: number;
  tokensOut: number;
  estimatedCost: number;
  actualCost: number;
}

export const NO_USAGE: UsageTotals = { requests: 0, errors: 0, tokensIn: 0, tokensOut: 0, estimatedCost: 0, actualCost: 0 };

export function createUsageRepository(prisma: UsagePrisma) {
  return {
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
    /** Each user's metered totals over [start, end), whole hours (UTC), by user id (users without usage are left out): one statement. */
    async totalsOfUsers(userIds: string[], start: Date, end: Date): Promise<Map<string, UsageTotals>> {
      const groups = await prisma.usageHourly.groupBy({
        by: ['userId'],
        where: { userId: { in: userIds }, hour: { gte: start, lt: end } },
        _sum: { requests: true, errors: true, tokensIn: true, tokensOut: true, estimatedCost: true, actualCost: true },
      });
      return new Map(
        groups.map(({ userId, _sum: sums }) => [
          userId,
          {
            requests: Number(sums.requests ?? 0),
            errors: Number(sums.errors ?? 0),
            tokensIn: Number(sums.tokensIn ?? 0),
            tokensOut: Number(sums.tokensOut ?? 0),
            estimatedCost: Number(sums.estimatedCost ?? 0),
            actualCost: Number(sums.actualCost ?? 0),
          },
        ]),
      );
    },
  };
}

export type UsageRepository = ReturnType<typeof createUsageRepository>;
