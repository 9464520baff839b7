import { z } from 'zod';

import type { Redis } from '../redis.js';
import { USAGE_EVENTS_STREAM } from './keys.js';

/**
 * One metered unit of work of one user, as appended to the `usage:events` stream: a gateway
 * operation (`requests: 1`, its cost, status and latency) or a completed inference job
 * (`requests: 0`, its tokens, model and whether it was served from cache). The usage
 * subgraph aggregates each `eventId` once, however often it is delivered.
 */
export interface UsageEvent {
  /** Unique per event: a UUID for operations, `inference:<jobId>` for inference jobs. */
  eventId: string;
  userId: string;
  /** ISO-8601 instant the operation finished (a subscription: started; a job: completed). */
  at: string;
  /** The API key the caller used; null when signed in with a token. */
  apiKeyId?: string | null;
  operationName: string | null;
  /** `error` when the result carried errors. @default 'ok' */
  status?: UsageEventStatus;
  /** Milliseconds from execution start to result (gateway operations). */
  latencyMs?: number | null;
  /** The cost analysis' estimate before execution (`extensions.cost.requestedQueryCost`). */
  estimatedCost?: number | null;
  /** The cost computed from the response (`extensions.cost.actualQueryCost`). */
  actualCost?: number | null;
  requests: number;
  tokensIn: number;
  tokensOut: number;
  /** Inference events: the model that ran the job. */
  model?: string | null;
  /** Inference events: whether the answer came from cache. */
  cached?: boolean | null;
}

export type UsageEventStatus = 'ok' | 'error';

/**
 * @default 100_000 // entries kept (approximately: `MAXLEN ~` trims whole radix-tree nodes,
 * which is cheap). Days of traffic at our volume, so the aggregator can be down for a while
 * without losing events, and the stream can never grow without bound.
 */
export const USAGE_EVENTS_MAX_LENGTH = 100_000;

/** Stream entry fields: flat strings, optional ones left out when absent, easy to XRANGE by hand. */
export function usageEventFields(event: UsageEvent): string[] {
  const fields = ['eventId', event.eventId, 'userId', event.userId, 'at', event.at];
  const optional: Array<[string, string | number | boolean | null | undefined]> = [
    ['apiKeyId', event.apiKeyId],
    ['operationName', event.operationName],
    ['status', event.status],
    ['latencyMs', event.latencyMs],
    ['estimatedCost', event.estimatedCost],
    ['actualCost', event.actualCost],
  ];
  for (const [name, value] of optional) if (value !== null && value !== undefined) fields.push(name, String(value));
  fields.push('requests', String(event.requests), 'tokensIn', String(event.tokensIn), 'tokensOut', String(event.tokensOut));
  if (event.model !== null && event.model !== undefined) fields.push('model', event.model);
  if (event.cached !== null && event.cached !== undefined) fields.push('cached', String(event.cached));
  return fields;
}

const count = z.coerce.number().int().nonnegative().max(2 ** 31 - 1);
const optionalCount = count.optional().transform((value) => value ?? null);
const usageEventEntrySchema = z.object({
  eventId: z.string().min(1).max(200),
  userId: z.uuid(),
  at: z.iso.datetime(),
  apiKeyId: z.string().min(1).max(100).optional().transform((value) => value ?? null),
  operationName: z.string().max(200).optional().transform((value) => value ?? null),
  status: z.enum(['ok', 'error']).default('ok'),
  latencyMs: optionalCount,
  estimatedCost: optionalCount,
  actualCost: optionalCount,
  requests: count,
  tokensIn: count,
  tokensOut: count,
  model: z.string().min(1).max(200).optional().transform((value) => value ?? null),
  cached: z.enum(['true', 'false']).optional().transform((value) => (value === undefined ? null : value === 'true')),
});

/** The event in a stream entry's flat field list, or null when the entry is not a valid one. */
export function parseUsageEventFields(fields: string[]): Required<UsageEvent> | null {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
  const parsed = usageEventEntrySchema.safeParse(record);
  return parsed.success ? parsed.data : null;
}

/** Appends one usage event to the `usage:events` stream, capped at USAGE_EVENTS_MAX_LENGTH. */
export async function recordUsageEvent(redis: Redis, event: UsageEvent): Promise<void> {
  await redis.xadd(USAGE_EVENTS_STREAM, 'MAXLEN', '~', USAGE_EVENTS_MAX_LENGTH, '*', ...usageEventFields(event));
}

/** A user's totals over a billing period, as aggregated so far. */
export interface UsagePeriodTotals {
  /** ISO-8601 instants: the period is [periodStart, periodEnd). */
  periodStart: string;
  periodEnd: string;
  requests: number;
  tokensIn: number;
  tokensOut: number;
}

/**
 * One aggregated usage event of one user, published on `usage:live:<userId>` after the
 * aggregation committed it: the event's own figures and the user's new totals for the
 * event's billing period. No event id: nobody dedupes live updates.
 */
export interface LiveUsageUpdate {
  userId: string;
  /** ISO-8601 instant of the event. */
  at: string;
  operationName: string | null;
  requests: number;
  tokensIn: number;
  tokensOut: number;
  periodTotals: UsagePeriodTotals;
}

const nonNegativeInt = z.number().int().nonnegative();
const liveUsageUpdateSchema = z.object({
  userId: z.string().min(1),
  at: z.iso.datetime(),
  operationName: z.string().nullable(),
  requests: nonNegativeInt,
  tokensIn: nonNegativeInt,
  tokensOut: nonNegativeInt,
  periodTotals: z.object({
    periodStart: z.iso.datetime(),
    periodEnd: z.iso.datetime(),
    requests: nonNegativeInt,
    tokensIn: nonNegativeInt,
    tokensOut: nonNegativeInt,
  }),
});

/** The update in a `usage:live:<userId>` message, or null when the message is not one. */
export function parseLiveUsageUpdate(payload: string): LiveUsageUpdate | null {
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    return null;
  }
  const parsed = liveUsageUpdateSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}
