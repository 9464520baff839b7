import { DATA_ADMIN_SCOPES, ownedUserReference } from '../../../lib/auth/ownership.js';
import type { Clock } from '../../../lib/clock.js';
import { isUuid } from '../../../lib/ids.js';
import type { LiveHub } from '../../../lib/live/pubsub.js';
import { DateTimeScalar } from '../../../lib/scalars.js';
import type { Resolvers } from '../__generated__/resolvers-types.js';
import type { PlansRepository } from '../data/plans-repository.js';
import type { UsageRepository } from '../data/usage-repository.js';
import type { Plans } from '../domain/plans.js';
import type { PlatformMetricsFeed } from '../domain/platform-metrics.js';
import { createPlanResolvers } from './plans.js';
import { createSubscriptionResolvers } from './subscriptions.js';

/** The calendar month (UTC) that contains `now`, as [start, end). */
export function monthOf(now: Date): { start: Date; end: Date } {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return { start, end };
}

export function createUsageResolvers(deps: {
  usage: UsageRepository;
  clock: Clock;
  hub: LiveHub;
  platformMetrics: PlatformMetricsFeed;
  plans: Plans;
  plansRepository: PlansRepository;
}): Resolvers {
  const { usage, clock } = deps;
  const planResolvers = createPlanResolvers({ plans: deps.plans, repository: deps.plansRepository });
  const noUsage = { requests: 0, tokensIn: 0, tokensOut: 0 };
  return {
    DateTime: DateTimeScalar,
    Query: { ...planResolvers.Query },
    Mutation: planResolvers.Mutation,
    Plan: planResolvers.Plan,
    Subscription: createSubscriptionResolvers(deps),
    // A User reaches these fields through its reference (owner-checked) or usageLive (the caller's own).
    User: {
      __resolveReference: ownedUserReference(DATA_ADMIN_SCOPES.usage),
      ...planResolvers.User,
      async usage(user) {
        const { start, end } = monthOf(clock.now());
        const totals = isUuid(user.id) ? await usage.totalsOfUser(user.id, start, end) : noUsage;
        return { periodStart: start, periodEnd: end, ...totals };
      },
    },
  };
}
