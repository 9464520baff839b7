import type { Plan } from '../data/__generated__/prisma/client.js';

export type UserParent = { id: string };
export type PlanParent = Plan;
export interface PlanChangeParent {
  user: UserParent;
  plan: Plan;
  previousPlan: Plan;
}
export interface UsageSummaryParent {
  periodStart: Date;
  periodEnd: Date;
  requests: number;
  tokensIn: number;
  tokensOut: number;
}
