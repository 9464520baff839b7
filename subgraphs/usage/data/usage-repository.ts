import type { UsagePrisma } from './database.js';

export function createUsageRepository(prisma: UsagePrisma) {
  return {
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
