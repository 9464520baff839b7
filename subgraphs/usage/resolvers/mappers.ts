import type { Plan } from '../data/__generated__/prisma/client.js';
import type { StoredAlert } from '../data/alerts-repository.js';
import type { StoredInvoice } from '../data/invoices-repository.js';
import type { PeriodClosing } from '../domain/invoices.js';

export type UserParent = { id: string };
export type PlanParent = Plan;
export interface PlanChangeParent {
  user: UserParent;
  plan: Plan;
  previousPlan: Plan;
}
export interface UsageSummaryParent {
  /** Whose usage: the series is read for this user. */
  userId: string;
  periodStart: Date;
  periodEnd: Date;
  requests: number;
  tokensIn: number;
  tokensOut: number;
  errors: number;
  estimatedCost: number;
  actualCost: number;
}
export type InvoiceParent = StoredInvoice;
export type BillingPeriodClosingParent = PeriodClosing;
export type AlertParent = StoredAlert;
