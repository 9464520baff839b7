import { USAGE_EVENTS_STREAM } from '../../../lib/live/keys.js';
import type { Logger } from '../../../lib/logger.js';
import { QUOTA_COUNTER_TTL_SECONDS, tokenCounterKey } from '../../../lib/plans/quotas.js';
import type { Redis } from '../../../lib/redis.js';
import { startStreamConsumer, type StreamEntry } from '../../../lib/streams/consumer.js';

/** The consumer group on `usage:events` that keeps the monthly token counters. */
export const QUOTA_COUNTERS_GROUP = 'quota-counters';

/**
 * Adds an event's tokens to its user's monthly counter once: the event id is remembered
 * (SET NX) in the same script, so a redelivered event (a consumer killed before XACK) is
 * not counted again. KEYS: seen marker, counter. ARGV: tokens, TTL seconds.
 */
const COUNT_ONCE = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('INCRBY', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
  return 1
end
return 0`;

/** The tokens (in + out) an entry of `usage:events` reports, with whom and when, or null when none. */
function tokensOf(entry: StreamEntry): { eventId: string; userId: string; at: Date; tokens: number } | null {
  const { eventId, userId, at } = entry.fields;
  const tokens = Number(entry.fields.tokensIn ?? 0) + Number(entry.fields.tokensOut ?? 0);
  const when = new Date(at ?? '');
  if (!eventId || !userId || !Number.isSafeInteger(tokens) || tokens <= 0 || Number.isNaN(when.getTime())) return null;
  return { eventId, userId, at: when, tokens };
}

/**
 * Keeps `quota:tokens:<userId>:<month>` (lib/plans/quotas.ts), which `checkTokenQuota` reads
 * before an inference job is queued, from the usage events of completed jobs. Its own
 * consumer group, so it neither waits for nor disturbs the aggregator's.
 */
export function startTokenQuotaCounters(deps: { redis: Redis; logger: Logger }) {
  return startStreamConsumer({
    redis: deps.redis,
    stream: USAGE_EVENTS_STREAM,
    group: QUOTA_COUNTERS_GROUP,
    logger: deps.logger,
    async handle(entries) {
      const counted = entries.map(tokensOf).filter((event) => event !== null);
      if (counted.length === 0) return;
      // Not a pipeline: the in-process stand-in has no EVAL in pipelines. Commands still share one round trip's worth of waiting.
      await Promise.all(
        counted.map((event) => deps.redis.eval(COUNT_ONCE, 2, `quota:counted:${event.eventId}`, tokenCounterKey(event.userId, event.at), event.tokens, QUOTA_COUNTER_TTL_SECONDS)),
      );
    },
  });
}
