import type { ExecutionArgs, ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

import type { Principal } from '../../lib/auth/principal.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { QUOTA_COUNTER_TTL_SECONDS, quotaExceeded, requestCounterKey } from '../../lib/plans/quotas.js';
import type { Redis } from '../../lib/redis.js';
import { throttledWarning } from '../../lib/throttled-warning.js';
import type { PlanDirectory } from './plan-directory.js';

/**
 * Counts the operation against this month's request counter unless the quota is hard and
 * used up. KEYS: counter. ARGV: hard (1/0), quota, TTL seconds. Returns {admitted, used}.
 */
const COUNT_REQUEST = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[1] == '1' and used >= tonumber(ARGV[2]) then return {0, used} end
used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return {1, used}`;

/**
 * The monthly request quota of a caller with a user (signed in or an API key's owner, whose
 * operations count for that user): every operation that reaches execution counts one, in
 * Redis (`quota:requests:<userId>:<YYYY-MM>`), and once a hard quota is used up the operation
 * is refused with QUOTA_EXCEEDED (HTTP 429) until the month ends. A soft quota only counts;
 * invoices bill the excess. Check and count are one atomic script, so concurrent operations
 * never pass a hard quota. Register after the cost limits: what they refuse is not counted.
 * Redis unreachable: allowed (counted nowhere; the quota is a business limit, not protection).
 */
export function useRequestQuota(options: { directory: PlanDirectory; redis: Redis; clock: Clock; logger: Logger }): Plugin<{ principal?: Principal }> {
  const { directory, redis, clock } = options;
  const warn = throttledWarning(options.logger, 'request quota not checked: Redis unavailable');

  const check = async (args: ExecutionArgs, stop: (result: ExecutionResult) => void) => {
    const principal = (args.contextValue as { principal?: Principal }).principal;
    if (!principal?.userId) return;
    const now = clock.now();
    const quotas = directory.quotasOf(principal.plan);
    let outcome: [number, number];
    try {
      outcome = (await redis.eval(COUNT_REQUEST, 1, requestCounterKey(principal.userId, now), quotas.requestQuotaHard ? '1' : '0', quotas.monthlyRequestQuota, QUOTA_COUNTER_TTL_SECONDS)) as [number, number];
    } catch (error) {
      warn(error);
      return;
    }
    const [admitted, used] = outcome;
    if (admitted) return;
    // Nothing ran: HTTP 429, as for RATE_LIMITED (no Retry-After: the month's end is in `resetAt`).
    stop({ errors: [quotaExceeded('requests', quotas.monthlyRequestQuota, used, now, { http: { status: 429 } })] });
  };

  return {
    async onExecute({ args, setResultAndStopExecution }) {
      await check(args, setResultAndStopExecution);
    },
    async onSubscribe({ args, setResultAndStopExecution }) {
      await check(args, setResultAndStopExecution);
    },
  };
}
