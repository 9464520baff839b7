import { z } from 'zod';

import type { Redis } from '../redis.js';
import { USAGE_EVENTS_STREAM, usageLiveChannel } from './keys.js';
import { prefixedChannel } from './pubsub.js';

/** One metered operation of one user, as published live (no event id: nobody dedupes live). */
export interface LiveUsageUpdate {
  userId: string;
  /** ISO-8601 instant the operation finished (or, for a subscription, started). */
  at: string;
  operationName: string | null;
  requests: number;
  tokensIn: number;
  tokensOut: number;
}

/** A usage event as appended to the stream: the live update plus an id unique to this event. */
export interface UsageEvent extends LiveUsageUpdate {
  /** Lets the aggregator count each event once, however often it is delivered. */
  eventId: string;
}

/**
 * @default 100_000 // entries kept (approximately: `MAXLEN ~` trims whole radix-tree nodes,
 * which is cheap). Days of traffic at our volume, so the aggregator can be down for a while
 * without losing events, and the stream can never grow without bound.
 */
export const USAGE_EVENTS_MAX_LENGTH = 100_000;

const liveUsageUpdateSchema = z.object({
  userId: z.string().min(1),
  at: z.iso.datetime(),
  operationName: z.string().nullable(),
  requests: z.number().int().nonnegative(),
  tokensIn: z.number().int().nonnegative(),
  tokensOut: z.number().int().nonnegative(),
});

/** The update in a `usage:live:<userId>` message, or null when the message is not one. */
export function parseLiveUsageUpdate(payload: string): LiveUsageUpdate | null {
  const parsed = liveUsageUpdateSchema.safeParse(JSON.parse(payload));
  return parsed.success ? parsed.data : null;
}

/** Stream entry fields: flat strings (`operationName` left out when null), easy to XRANGE by hand. */
export function usageEventFields(event: UsageEvent): string[] {
  const fields = ['eventId', event.eventId, 'userId', event.userId, 'at', event.at];
  if (event.operationName !== null) fields.push('operationName', event.operationName);
  fields.push('requests', String(event.requests), 'tokensIn', String(event.tokensIn), 'tokensOut', String(event.tokensOut));
  return fields;
}

/**
 * Records one usage event in a single round trip: PUBLISH on the user's live channel (for
 * `usageLive` subscribers) and XADD to the `usage:events` stream, capped at
 * USAGE_EVENTS_MAX_LENGTH. Rejects with the first command's error.
 */
export async function recordUsageEvent(redis: Redis, event: UsageEvent): Promise<void> {
  const { eventId: _eventId, ...update } = event;
  const results = await redis
    .pipeline()
    .publish(prefixedChannel(redis, usageLiveChannel(event.userId)), JSON.stringify(update))
    .xadd(USAGE_EVENTS_STREAM, 'MAXLEN', '~', USAGE_EVENTS_MAX_LENGTH, '*', ...usageEventFields(event))
    .exec();
  for (const [error] of results ?? []) if (error) throw error;
}
