import type { UsageEvent } from '../../../lib/live/usage-events.js';
import type { UsagePrisma } from './database.js';

/** An event as the aggregation takes it: every optional figure resolved. */
export type MeteredEvent = Required<UsageEvent>;

/** A user's totals over one billing period. */
export interface PeriodTotals {
  userId: string;
  periodStart: Date;
  requests: number;
  tokensIn: number;
  tokensOut: number;
}

export interface UsageTotals {
  requests: number;
  errors: number;
  tokensIn: number;
  tokensOut: number;
  estimatedCost: number;
  actualCost: number;
}

export interface UsageBucketRow extends UsageTotals {
  start: Date;
}

export type BucketSize = 'hour' | 'day';

/** How the aggregation places one event: the hour and the billing period it falls in (UTC). */
export interface Bucketing {
  hourOf(at: Date): Date;
  periodOf(at: Date): Date;
}

/**
 * @default 30_000 // ms: one batch's transaction (a few hundred events, three statements) takes
 * milliseconds; on a starved machine far more, and Prisma's 5 s default would abort good work.
 */
const BATCH_TRANSACTION_TIMEOUT_MS = 30_000;

const FIGURES = ['requests', 'errors', 'tokensIn', 'tokensOut', 'estimatedCost', 'actualCost', 'latencyMsTotal'] as const;
type Figures = Record<(typeof FIGURES)[number], number>;

const zeroFigures = (): Figures => ({ requests: 0, errors: 0, tokensIn: 0, tokensOut: 0, estimatedCost: 0, actualCost: 0, latencyMsTotal: 0 });

function addEvent(figures: Figures, event: MeteredEvent): void {
  figures.requests += event.requests;
  figures.errors += event.status === 'error' ? 1 : 0;
  figures.tokensIn += event.tokensIn;
  figures.tokensOut += event.tokensOut;
  figures.estimatedCost += event.estimatedCost ?? 0;
  figures.actualCost += event.actualCost ?? 0;
  figures.latencyMsTotal += event.latencyMs ?? 0;
}

/** Rows keyed by (user, API key, bucket), sorted by that key so concurrent batches lock rows in one order. */
function groupBy(events: MeteredEvent[], bucketOf: (at: Date) => Date) {
  const rows = new Map<string, { userId: string; apiKeyId: string; bucket: string } & Figures>();
  for (const event of events) {
    const bucket = bucketOf(new Date(event.at)).toISOString();
    const apiKeyId = event.apiKeyId ?? '';
    const key = `${event.userId}\u0000${apiKeyId}\u0000${bucket}`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { userId: event.userId, apiKeyId, bucket, ...zeroFigures() }));
    addEvent(row, event);
  }
  return [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}

const FIGURE_COLUMNS = FIGURES.map((name) => `"${name}"`).join(', ');
const FIGURE_RECORD_TYPES = FIGURES.map((name) => `"${name}" bigint`).join(', ');
const FIGURE_INCREMENTS = (table: string) => FIGURES.map((name) => `"${name}" = "${table}"."${name}" + EXCLUDED."${name}"`).join(', ');

/** One statement per table: rows arrive as one JSON parameter (one round trip, any batch size). */
const upsertSql = (table: 'UsageHourly' | 'UsagePeriod', bucketColumn: 'hour' | 'periodStart') => `
  INSERT INTO "usage"."${table}" ("userId", "apiKeyId", "${bucketColumn}", ${FIGURE_COLUMNS})
  SELECT r."userId"::uuid, r."apiKeyId", r."bucket"::timestamptz, ${FIGURES.map((name) => `r."${name}"`).join(', ')}
  FROM jsonb_to_recordset($1::jsonb) AS r("userId" text, "apiKeyId" text, "bucket" text, ${FIGURE_RECORD_TYPES})
  ON CONFLICT ("userId", "apiKeyId", "${bucketColumn}") DO UPDATE SET ${FIGURE_INCREMENTS(table)}`;

const UPSERT_HOURLY = upsertSql('UsageHourly', 'hour');
const UPSERT_PERIOD = upsertSql('UsagePeriod', 'periodStart');

const MARK_PROCESSED = `
  INSERT INTO "usage"."ProcessedEvent" ("eventId")
  SELECT e."eventId" FROM jsonb_to_recordset($1::jsonb) AS e("eventId" text)
  ON CONFLICT ("eventId") DO NOTHING
  RETURNING "eventId"`;

const PERIOD_TOTALS = `
  SELECT p."userId"::text AS "userId", p."periodStart", sum(p."requests") AS "requests", sum(p."tokensIn") AS "tokensIn", sum(p."tokensOut") AS "tokensOut"
  FROM "usage"."UsagePeriod" p
  JOIN jsonb_to_recordset($1::jsonb) AS k("userId" text, "periodStart" text)
    ON p."userId" = k."userId"::uuid AND p."periodStart" = k."periodStart"::timestamptz
  GROUP BY p."userId", p."periodStart"`;

const SUMS = `coalesce(sum("requests"), 0) AS "requests", coalesce(sum("errors"), 0) AS "errors",
  coalesce(sum("tokensIn"), 0) AS "tokensIn", coalesce(sum("tokensOut"), 0) AS "tokensOut",
  coalesce(sum("estimatedCost"), 0) AS "estimatedCost", coalesce(sum("actualCost"), 0) AS "actualCost"`;

type SumsRow = Record<keyof UsageTotals, bigint | number | string>;
const totalsOf = (row: SumsRow | undefined): UsageTotals => ({
  requests: Number(row?.requests ?? 0),
  errors: Number(row?.errors ?? 0),
  tokensIn: Number(row?.tokensIn ?? 0),
  tokensOut: Number(row?.tokensOut ?? 0),
  estimatedCost: Number(row?.estimatedCost ?? 0),
  actualCost: Number(row?.actualCost ?? 0),
});

/**
 * The metered-usage tables: per user, API key and hour (`UsageHourly`) and per billing period
 * (`UsagePeriod`), with `ProcessedEvent` recording which events they already hold.
 */
export function createAggregatesRepository(prisma: UsagePrisma, bucketing: Bucketing) {
  return {
    /**
     * Aggregates a batch in ONE transaction: marks each event processed (an id seen before,
     * in this batch or any earlier one, is skipped) and adds the new ones to their hour's and
     * period's rows. Either all of it commits or none, so a consumer killed at any point
     * neither loses nor double-counts an event when the batch is delivered again.
     * Returns the events counted now and the new period totals of the users they touched.
     */
    async aggregate(events: MeteredEvent[]): Promise<{ counted: MeteredEvent[]; totals: PeriodTotals[] }> {
      const unique = [...new Map(events.map((event) => [event.eventId, event])).values()];
      if (unique.length === 0) return { counted: [], totals: [] };
      return prisma.$transaction(
        async (tx) => {
          const fresh = await tx.$queryRawUnsafe<Array<{ eventId: string }>>(MARK_PROCESSED, JSON.stringify(unique.map(({ eventId }) => ({ eventId }))));
          const freshIds = new Set(fresh.map(({ eventId }) => eventId));
          const counted = unique.filter((event) => freshIds.has(event.eventId));
          if (counted.length === 0) return { counted, totals: [] };
          await tx.$executeRawUnsafe(UPSERT_HOURLY, JSON.stringify(groupBy(counted, bucketing.hourOf)));
          const periodRows = groupBy(counted, bucketing.periodOf);
          await tx.$executeRawUnsafe(UPSERT_PERIOD, JSON.stringify(periodRows));
          const keys = [...new Map(periodRows.map(({ userId, bucket }) => [`${userId} ${bucket}`, { userId, periodStart: bucket }])).values()];
          const rows = await tx.$queryRawUnsafe<Array<{ userId: string; periodStart: Date } & Record<'requests' | 'tokensIn' | 'tokensOut', bigint | string>>>(
            PERIOD_TOTALS,
            JSON.stringify(keys),
          );
          const totals = rows.map((row) => ({
            userId: row.userId,
            periodStart: new Date(row.periodStart),
            requests: Number(row.requests),
            tokensIn: Number(row.tokensIn),
            tokensOut: Number(row.tokensOut),
          }));
          return { counted, totals };
        },
        { timeout: BATCH_TRANSACTION_TIMEOUT_MS, maxWait: BATCH_TRANSACTION_TIMEOUT_MS },
      );
    },

    /** A user's totals over [start, end), whole hours. */
    async totals(userId: string, start: Date, end: Date): Promise<UsageTotals> {
      const [row] = await prisma.$queryRawUnsafe<SumsRow[]>(
        `SELECT ${SUMS} FROM "usage"."UsageHourly" WHERE "userId" = $1::uuid AND "hour" >= $2::timestamptz AND "hour" < $3::timestamptz`,
        userId,
        start.toISOString(),
        end.toISOString(),
      );
      return totalsOf(row);
    },

    /** A user's non-empty hourly or daily (UTC) buckets over [start, end), in order. */
    async buckets(userId: string, start: Date, end: Date, size: BucketSize): Promise<UsageBucketRow[]> {
      const rows = await prisma.$queryRawUnsafe<Array<SumsRow & { start: Date }>>(
        `SELECT date_trunc('${size === 'hour' ? 'hour' : 'day'}', "hour", 'UTC') AS "start", ${SUMS}
         FROM "usage"."UsageHourly" WHERE "userId" = $1::uuid AND "hour" >= $2::timestamptz AND "hour" < $3::timestamptz
         GROUP BY 1 ORDER BY 1`,
        userId,
        start.toISOString(),
        end.toISOString(),
      );
      return rows.map((row) => ({ start: new Date(row.start), ...totalsOf(row) }));
    },

    /** Per-user token and request totals of one billing period, for closing it. */
    async periodUsers(periodStart: Date): Promise<Array<{ userId: string } & UsageTotals>> {
      const rows = await prisma.$queryRawUnsafe<Array<SumsRow & { userId: string }>>(
        `SELECT "userId"::text AS "userId", ${SUMS} FROM "usage"."UsagePeriod" WHERE "periodStart" = $1::timestamptz GROUP BY "userId" ORDER BY "userId"`,
        periodStart.toISOString(),
      );
      return rows.map((row) => ({ userId: row.userId, ...totalsOf(row) }));
    },
  };
}

export type AggregatesRepository = ReturnType<typeof createAggregatesRepository>;
