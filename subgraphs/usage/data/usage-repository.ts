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
    /** A user's metered totals over [start, end), whole hours (UTC). */
    async totalsOfUser(userId: string, start: Date, end: Date) {
      const { _sum: sums } = await prisma.usageHourly.aggregate({
        where: { userId, hour: { gte: start, lt: end } },
        _sum: { requests: true, errors: true, tokensIn: true, tokensOut: true, estimatedCost: true, actualCost: true },
      });
      return {
        userId,
        requests: Number(sums.requests ?? 0),
        errors: Number(sums.errors ?? 0),
        tokensIn: Number(sums.tokensIn ?? 0),
        tokensOut: Number(sums.tokensOut ?? 0),
        estimatedCost: Number(sums.estimatedCost ?? 0),
        actualCost: Number(sums.actualCost ?? 0),
      };
    },
  };
}

export type UsageRepository = ReturnType<typeof createUsageRepository>;
