/**
 * Billing periods are UTC calendar months, named `YYYY-MM` in the API; usage is aggregated
 * per UTC clock hour within them.
 */

/** The calendar month (UTC) that contains `at`, as [start, end). */
export function monthOf(at: Date): { start: Date; end: Date } {
  const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  const end = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
  return { start, end };
}

export const hourOf = (at: Date): Date => new Date(Math.floor(at.getTime() / 3_600_000) * 3_600_000);

export const periodStartOf = (at: Date): Date => monthOf(at).start;

/** The aggregation's bucketing (data/aggregates-repository.ts). */
export const BILLING_BUCKETING = { hourOf, periodOf: periodStartOf };

/** `YYYY-MM` of the period starting at `start`. */
export const periodName = (start: Date): string => start.toISOString().slice(0, 7);

/** The period named `YYYY-MM` (years 2000-9999), or null when the name is not one. */
export function parsePeriodName(name: string): { start: Date; end: Date } | null {
  const match = /^(\d{4})-(\d{2})$/.exec(name);
  if (!match) return null;
  const year = Number(match[1]);
  const month = Number(match[2]);
  if (year < 2000 || month < 1 || month > 12) return null;
  return monthOf(new Date(Date.UTC(year, month - 1, 1)));
}

/** The last period that has ended at `now`: the one closing now makes invoices for. */
export const previousPeriodOf = (now: Date) => monthOf(new Date(monthOf(now).start.getTime() - 1));
