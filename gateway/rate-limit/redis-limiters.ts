import { randomUUID } from 'node:crypto';

import { type CappedCount, cappedCountArgs, cappedCountLua, cappedCountOutcome } from '../../lib/capped-counter.js';
import type { Redis } from '../../lib/redis.js';
import { type Limiter, type LimiterOutcome, slidingWindowOutcome, tokenBucketOutcome } from './limiter.js';
import type { RateLimitPlan } from './plans.js';

/**
 * Token bucket, one hash per caller (KEYS[1]): `tokens` left and `at`, the time they were counted.
 * ARGV: now (ms), size, restore rate (tokens per ms), op (take | refund | peek), amount, and
 * for take a credit (refunds and unused leases held back) given back first and a lease wanted
 * (ARGV 7): once the take is allowed, up to that many whole tokens more are taken for the
 * gateway to spend locally (redis-budget.ts), never more than the bucket holds. Refills by the time elapsed since `at`, capped at the size; a `now` behind `at` (another
 * gateway's clock runs ahead) refills nothing rather than twice. A full bucket is deleted
 * (an absent key reads as full) and any other expires when it would be full again, so idle
 * callers cost no memory. A take may name a capped counter (KEYS[2]; ARGV 8 and 9: its limit,
 * '' for none, and TTL), counted only when the take is allowed (lib/capped-counter.ts); without
 * one, KEYS[2] repeats KEYS[1] and ARGV 8 and 9 are absent (the key count is fixed: the
 * in-process Redis of embedded mode, ioredis-mock, cannot take a varying one).
 * Returns {allowed (1|0), tokens (a string: Lua numbers become integers), admitted (1|0, -1: no counter), used, leased}.
 */
const TOKEN_BUCKET = `
local now = tonumber(ARGV[1])
local size = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local op = ARGV[4]
local amount = tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or size
local at = tonumber(state[2]) or now
if now > at then
  tokens = math.min(size, tokens + (now - at) * rate)
  at = now
end
local allowed = 1
local leased = 0
if op == 'take' then
  tokens = math.min(size, tokens + (tonumber(ARGV[6]) or 0))
  if tokens >= amount then
    tokens = tokens - amount
    leased = math.max(0, math.min(tonumber(ARGV[7]) or 0, math.floor(tokens)))
    tokens = tokens - leased
  else
    allowed = 0
  end
elseif op == 'refund' then
  tokens = math.min(size, tokens + amount)
end
if op ~= 'peek' then
  if tokens >= size then
    redis.call('DEL', KEYS[1])
  else
    redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
    redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((size - tokens) / rate)))
  end
end
local admitted, used = -1, 0
if allowed == 1 and op == 'take' and ARGV[9] then
  local limit = tonumber(ARGV[8])
  ${cappedCountLua('KEYS[2]', 'limit', 'ARGV[9]')}
end
return {allowed, tostring(tokens), admitted, used, leased}
`;

/**
 * Sliding window log, one sorted set per caller: a member per request scored by its time.
 * ARGV: now (ms), window (ms), limit, op (take | peek), a unique member. Drops requests that
 * left the window, adds this one if it fits, expires the set with the window.
 * Returns {allowed (1|0), count, oldest score or '', newest score or ''}.
 */
const SLIDING_WINDOW = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if ARGV[4] == 'take' and count < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], window)
  count = count + 1
  allowed = 1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
return {allowed, count, oldest[2] or '', newest[2] or ''}
`;

type Script = (keys: readonly string[], ...args: (string | number)[]) => Promise<unknown[]>;

/**
 * Registers `lua` on the client with ioredis' `defineCommand`: each call is one EVALSHA, and
 * a NOSCRIPT answer (Redis restarted, failed over or SCRIPT FLUSHed) is retried once as EVAL,
 * which loads the script again. Every call passes `numberOfKeys` keys, which get the client's key prefix like any other.
 */
export function defineScript(redis: Redis, name: string, lua: string, numberOfKeys: number): Script {
  redis.defineCommand(name, { numberOfKeys, lua });
  const command = (redis as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown[]>>)[name]!;
  return (keys, ...args) => command.call(redis, ...keys, ...args);
}

export function redisTokenBucket(redis: Redis): Limiter {
  const script = defineScript(redis, 'rateLimitTokenBucket', TOKEN_BUCKET, 2);
  const step = async (key: string, plan: RateLimitPlan, op: 'take' | 'refund' | 'peek', amount: number, nowMs: number, credit = 0, count?: CappedCount, lease = 0): Promise<LimiterOutcome> => {
    const args = [nowMs, plan.bucketSize, plan.restorePerSecond / 1_000, op, amount, credit, lease];
    const [allowed, tokens, admitted, used, leased] = await (count ? script([key, count.key], ...args, ...cappedCountArgs(count)) : script([key, key], ...args));
    const outcome = tokenBucketOutcome(plan, Number(tokens), allowed === 1, amount);
    if (leased) outcome.leased = Number(leased);
    if (admitted !== -1) outcome.counted = cappedCountOutcome(admitted, used);
    return outcome;
  };
  return {
    algorithm: 'token-bucket',
    take: (key, plan, amount, nowMs, credit, count, lease) => step(key, plan, 'take', amount, nowMs, credit, count, lease),
    refund: (key, plan, amount, nowMs) => step(key, plan, 'refund', amount, nowMs),
    peek: (key, plan, nowMs) => step(key, plan, 'peek', 0, nowMs),
  };
}

/** Counts requests, not cost: every take counts one and refunds change nothing. */
export function redisSlidingWindow(redis: Redis): Limiter {
  const script = defineScript(redis, 'rateLimitSlidingWindow', SLIDING_WINDOW, 1);
  const step = async (key: string, plan: RateLimitPlan, op: 'take' | 'peek', nowMs: number): Promise<LimiterOutcome> => {
    const [allowed, count, oldest, newest] = await script([key], nowMs, plan.windowSeconds * 1_000, plan.requestsPerWindow, op, `${nowMs}:${randomUUID()}`);
    const scoreOf = (value: unknown) => (value === '' ? null : Number(value));
    return slidingWindowOutcome(plan, allowed === 1, Number(count), scoreOf(oldest), scoreOf(newest), nowMs);
  };
  return {
    algorithm: 'sliding-window',
    take: (key, plan, _amount, nowMs) => step(key, plan, 'take', nowMs),
    refund: (key, plan, _amount, nowMs) => step(key, plan, 'peek', nowMs),
    peek: (key, plan, nowMs) => step(key, plan, 'peek', nowMs),
  };
}
