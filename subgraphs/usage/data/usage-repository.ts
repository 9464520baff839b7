import type { UsagePrisma } from './database.js';

/** Every user without an account row is on this plan. */
export const DEFAULT_PLAN_ID = 'free';

export function createUsageRepository(prisma: UsagePrisma) {
  return {
    listPlans: () => prisma.plan.findMany({ orderBy: { priceCentsPerMonth: 'asc' } }),
    defaultPlan: () => prisma.plan.findUniqueOrThrow({ where: { id: DEFAULT_PLAN_ID } }),
    async planOfUser(userId: string) {
      const account = await prisma.account.findUnique({ where: { userId }, include: { plan: true } });
      return account?.plan ?? prisma.plan.findUniqueOrThrow({ where: { id: DEFAULT_PLAN_ID } });
    },
    /** Totals over [start, end) days. */
    async totalsOfUser(userId: string, start: Date, end: Date) {
      const totals = await prisma.usageDaily.aggregate({
        where: { userId, day: { gte: start, lt: end } },
        _sum: { requests: true, tokensIn: true, tokensOut: true },
      });
      return {
        requests: totals._sum.requests ?? 0,
        tokensIn: totals._sum.tokensIn ?? 0,
        tokensOut: totals._sum.tokensOut ?? 0,
      };
    },
  };
}

export type UsageRepository = ReturnType<typeof createUsageRepository>;
