import { badUserInput } from '../../../lib/errors.js';
import type { BucketSize, UsageBucketRow, UsageTotals } from '../data/aggregates-repository.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** @default 366 // days: the longest period `usage(period)` reports (a leap year). */
export const MAX_REPORT_DAYS = 366;
/** @default 31 // days: the longest period with an hourly series (744 buckets). */
export const MAX_HOURLY_SERIES_DAYS = 31;

/** Metering began after this; earlier starts are mistakes, not history. */
const EARLIEST = Date.UTC(2000, 0, 1);

/**
 * The period `usage(period)` asked for, rounded out to whole hours (the aggregates' grain), or
 * BAD_USER_INPUT: reversed or empty, before 2000, or longer than MAX_REPORT_DAYS.
 */
export function reportPeriod(input: { start: Date; end: Date }): { start: Date; end: Date } {
  const start = Math.floor(input.start.getTime() / HOUR_MS) * HOUR_MS;
  const end = Math.ceil(input.end.getTime() / HOUR_MS) * HOUR_MS;
  if (input.end.getTime() <= input.start.getTime()) throw badUserInput('period.end must be after period.start', { argumentName: 'period' });
  if (start < EARLIEST) throw badUserInput('period.start must be in the year 2000 or later', { argumentName: 'period' });
  if (end - start > MAX_REPORT_DAYS * DAY_MS) throw badUserInput(`period may span at most ${MAX_REPORT_DAYS} days`, { argumentName: 'period' });
  return { start: new Date(start), end: new Date(end) };
}

export const bucketSizeOf = (granularity: 'HOUR' | 'DAY'): BucketSize => (granularity === 'HOUR' ? 'hour' : 'day');

const ZERO: UsageTotals = { requests: 0, errors: 0, tokensIn: 0, tokensOut: 0, estimatedCost: 0, actualCost: 0 };

/**
 * Every bucket of [start, end) in order, from the first bucket boundary at or before `start`,
 * the non-empty ones from `rows` and zeros elsewhere. An hourly series over more than
 * MAX_HOURLY_SERIES_DAYS is BAD_USER_INPUT.
 */
export function fillSeries(period: { start: Date; end: Date }, size: BucketSize, rows: UsageBucketRow[]) {
  const step = size === 'hour' ? HOUR_MS : DAY_MS;
  if (size === 'hour' && period.end.getTime() - period.start.getTime() > MAX_HOURLY_SERIES_DAYS * DAY_MS) {
    throw badUserInput(`an hourly series covers at most ${MAX_HOURLY_SERIES_DAYS} days; ask for DAY`, { argumentName: 'granularity' });
  }
  const byStart = new Map(rows.map((row) => [row.start.getTime(), row]));
  const buckets = [];
  for (let at = Math.floor(period.start.getTime() / step) * step; at < period.end.getTime(); at += step) {
    const { start: _start, ...figures } = byStart.get(at) ?? { start: null, ...ZERO };
    buckets.push({ start: new Date(at), end: new Date(at + step), ...figures });
  }
  return buckets;
}
