/**
 * A Redis counter that counts one per step unless it has reached its limit (the monthly
 * request quota, lib/plans/quotas.ts): check and count in one Lua step, so concurrent steps
 * never pass the limit. Its Lua is shared by the quota's own script
 * (gateway/plans/use-request-quota.ts) and the cost budget's take (gateway/rate-limit/), which
 * counts it in the same script run as the take, one round trip for both.
 */
export interface CappedCount {
  /** The counter's key (the Redis client's key prefix is added to it). */
  key: string;
  /** Counting stops here: a step finding the counter at `limit` or above is refused. Null: never refused. */
  limit: number | null;
  /** Seconds the counter lives from its first count. */
  ttlSeconds: number;
}

/** One step's outcome: admitted (counted) or refused, and the count it found or made. */
export interface CappedCountOutcome {
  admitted: boolean;
  used: number;
}

/**
 * Lua statements counting one on `key` unless the Lua number `limit` (nil: none) is reached,
 * `ttl` seconds from the first count. They assign the caller's locals `admitted` (1 or 0)
 * and `used`; the arguments are Lua expressions.
 */
export const cappedCountLua = (key: string, limit: string, ttl: string) => `
used = tonumber(redis.call('GET', ${key}) or '0')
if ${limit} ~= nil and used >= ${limit} then
  admitted = 0
else
  admitted = 1
  used = redis.call('INCR', ${key})
  if used == 1 then redis.call('EXPIRE', ${key}, ${ttl}) end
end`;

/** A CappedCount as script arguments: the limit ('' for none, which Lua's tonumber reads as nil) and the TTL. */
export const cappedCountArgs = (count: CappedCount): [string, number] => [count.limit === null ? '' : String(count.limit), count.ttlSeconds];

/** The outcome from the script's two numbers. */
export const cappedCountOutcome = (admitted: unknown, used: unknown): CappedCountOutcome => ({ admitted: Number(admitted) === 1, used: Number(used) });
