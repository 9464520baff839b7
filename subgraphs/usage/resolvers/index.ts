import { DATA_ADMIN_SCOPES, ownedUserReference } from '../../../lib/auth/ownership.js';
import type { Clock } from '../../../lib/clock.js';
import { graphqlError } from '../../../lib/errors.js';
import { isUuid } from '../../../lib/ids.js';
import type { LiveHub } from '../../../lib/live/pubsub.js';
import { DateTimeScalar } from '../../../lib/scalars.js';
import type { Resolvers } from '../__generated__/resolvers-types.js';
import type { AggregatesRepository } from '../data/aggregates-repository.js';
import type { AlertsRepository } from '../data/alerts-repository.js';
import type { InvoicesRepository } from '../data/invoices-repository.js';
import { DEFAULT_PLAN_ID, type PlansRepository } from '../data/plans-repository.js';
import { NO_USAGE } from '../data/usage-repository.js';
import { monthOf } from '../domain/billing-period.js';
import type { PeriodClosing } from '../domain/invoices.js';
import type { Plans } from '../domain/plans.js';
import type { PlatformMetricsFeed } from '../domain/platform-metrics.js';
import { createAlertResolvers } from './alerts.js';
import { createInvoiceResolvers } from './invoices.js';
import { createPlanResolvers } from './plans.js';
import { createSubscriptionResolvers } from './subscriptions.js';
import { createUsageReportResolvers } from './usage.js';

export function createUsageResolvers(deps: {
  aggregates: AggregatesRepository;
  invoices: InvoicesRepository;
  clock: Clock;
  hub: LiveHub;
  platformMetrics: PlatformMetricsFeed;
  alerts: AlertsRepository;
  closePeriod: (period: { start: Date; end: Date }) => Promise<PeriodClosing>;
  plans: Plans;
  plansRepository: PlansRepository;
}): Resolvers {
  const { clock, plansRepository } = deps;
  const reports = createUsageReportResolvers(deps);
  const billing = createInvoiceResolvers(deps);
  const planResolvers = createPlanResolvers({ plans: deps.plans });
  return {
    DateTime: DateTimeScalar,
    Query: {
      ...planResolvers.Query,
      ...reports.Query,
      ...billing.Query,
      ...createAlertResolvers(deps).Query,
    },
    Mutation: { ...billing.Mutation, ...planResolvers.Mutation },
    Plan: planResolvers.Plan,
    UsageSummary: reports.UsageSummary,
    Invoice: billing.Invoice,
    BillingPeriodClosing: billing.BillingPeriodClosing,
    Subscription: createSubscriptionResolvers(deps),
    // A User reaches these fields through its reference (owner-checked) or usageLive (the caller's own).
    User: {
      __resolveReference: ownedUserReference(DATA_ADMIN_SCOPES.usage),
      async plan(user, _args, { loaders }) {
        if (!isUuid(user.id)) return plansRepository.defaultPlan();
        const plan = await loaders.plan(user.id);
        if (!plan) throw graphqlError('INTERNAL_SERVER_ERROR', `the default plan ${DEFAULT_PLAN_ID} is missing`);
        return plan;
      },
      async usage(user, _args, { loaders }) {
        const { start, end } = monthOf(clock.now());
        const totals = isUuid(user.id) ? await loaders.totals({ userId: user.id, start, end }) : NO_USAGE;
        return { periodStart: start, periodEnd: end, userId: user.id, ...totals };
      },
    },
  };
}
