import { DATA_ADMIN_SCOPES, requireDataOf } from '../../../lib/auth/ownership.js';
import type { Principal } from '../../../lib/auth/principal.js';
import { notFound } from '../../../lib/errors.js';
import { isUuid } from '../../../lib/ids.js';
import type { QueryResolvers, UsageSummaryResolvers } from '../__generated__/resolvers-types.js';
import type { AggregatesRepository } from '../data/aggregates-repository.js';
import { bucketSizeOf, fillSeries, reportPeriod } from '../domain/usage-report.js';

/**
 * The user a usage or billing query is about: `userId` when given (the caller's own, or anyone's
 * with `usage:admin`), else the caller. Anyone else's, a malformed id and a caller without a
 * user alike get NOT_FOUND.
 */
export function subjectUserOf(principal: Principal, userId: string | null | undefined, what: string): string {
  const subject = userId ?? principal.userId;
  if (!subject || !isUuid(subject)) throw notFound(what);
  requireDataOf(principal, subject, DATA_ADMIN_SCOPES.usage, what);
  return subject;
}

/** `usage(period)` and the series of a `UsageSummary` (from `usage` or `User.usage`). */
export function createUsageReportResolvers(deps: { aggregates: AggregatesRepository }): {
  Query: Pick<QueryResolvers, 'usage'>;
  UsageSummary: UsageSummaryResolvers;
} {
  return {
    Query: {
      async usage(_parent, { period, userId }, { principal }) {
        const subject = subjectUserOf(principal, userId, 'Usage');
        const { start, end } = reportPeriod(period);
        return { userId: subject, periodStart: start, periodEnd: end, ...(await deps.aggregates.totals(subject, start, end)) };
      },
    },
    UsageSummary: {
      user: (summary) => ({ id: summary.userId }),
      async series(summary, { granularity }) {
        const size = bucketSizeOf(granularity);
        const period = { start: summary.periodStart, end: summary.periodEnd };
        // Checked before the query: an hourly series over a year is refused, not computed.
        fillSeries(period, size, []);
        const rows = isUuid(summary.userId) ? await deps.aggregates.buckets(summary.userId, period.start, period.end, size) : [];
        return fillSeries(period, size, rows);
      },
    },
  };
}
