import type { Plan, Prisma } from './__generated__/prisma/client.js';
import type { UsagePrisma } from './database.js';

/** Every user without an account row is on this plan. */
export const DEFAULT_PLAN_ID = 'free';

export type PlanRecord = Plan;
/** The columns updatePlan may change. */
export type PlanEdit = Partial<Omit<Prisma.PlanUpdateInput, 'id' | 'createdAt' | 'editedAt' | 'accounts'>>;

/** The plan catalogue and which plan each user is on (the `Plan` and `Account` tables). */
export function createPlansRepository(prisma: UsagePrisma) {
  const findPlan = (id: string) => prisma.plan.findUnique({ where: { id } });
  return {
    listPlans: () => prisma.plan.findMany({ orderBy: [{ priceCentsPerMonth: 'asc' }, { id: 'asc' }] }),
    findPlan,
    defaultPlan: () => prisma.plan.findUniqueOrThrow({ where: { id: DEFAULT_PLAN_ID } }),
    /** Applies `edit` to an existing plan and marks it edited; null when there is no such plan. */
    async updatePlan(id: string, edit: PlanEdit, at: Date): Promise<Plan | null> {
      const updated = await prisma.plan.updateManyAndReturn({ where: { id }, data: { ...edit, editedAt: at } });
      return updated[0] ?? null;
    },
    /**
     * Puts the user on `planId` and returns the plan they were on, in one transaction that
     * locks their account row, so concurrent changes of one user apply one after the other.
     */
    async setPlanOfUser(userId: string, planId: string): Promise<{ previous: Plan; current: Plan }> {
      return prisma.$transaction(async (tx) => {
        await tx.account.upsert({ where: { userId }, create: { userId, planId: DEFAULT_PLAN_ID }, update: {} });
        await tx.$queryRaw`SELECT 1 FROM "usage"."Account" WHERE "userId" = ${userId}::uuid FOR UPDATE`;
        const account = await tx.account.findUniqueOrThrow({ where: { userId }, include: { plan: true } });
        const updated = await tx.account.update({ where: { userId }, data: { planId }, include: { plan: true } });
        return { previous: account.plan, current: updated.plan };
      });
    },
    /** Whether any plan differs from what it was seeded with (so the catalogue must reach Redis). */
    anyPlanEdited: async () => (await prisma.plan.count({ where: { editedAt: { not: null } } })) > 0,
  };
}

export type PlansRepository = ReturnType<typeof createPlansRepository>;
