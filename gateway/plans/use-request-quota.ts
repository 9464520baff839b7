import type { ExecutionArgs, ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

import type { Principal } from '../../lib/auth/principal.js';
import { type CappedCount, cappedCountArgs, cappedCountLua, type CappedCountOutcome, cappedCountOutcome } from '../../lib/capped-counter.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { QUOTA_COUNTER_TTL_SECONDS, quotaExceeded, requestCounterKey } from '../../lib/plans/quotas.js';
import type { Redis } from '../../lib/redis.js';
import { throttledWarning } from '../../lib/throttled-warning.js';
import type { CountedWithCharge } from '../cost/budget.js';
import type { PlanDirectory } from './plan-directory.js';

/** KEYS: counter. ARGV: hard quota ('' for a soft one), TTL seconds. Returns {admitted (1|0), used}. */
const COUNT_REQUEST = `
local admitted, used
local limit = tonumber(ARGV[1])
${cappedCountLua('KEYS[1]', 'limit', 'ARGV[2]')}
return {admitted, used}`;

export interface RequestQuota {
  plugin: Plugin<{ principal?: Principal }>;
  /** For useCostLimits: each operation counted with its charge, one Redis round trip for both. */
  withCharge: CountedWithCharge;
}

/**
 * The monthly request quota of a caller with a user (signed in or an API key's owner, whose
 * operations count for that user): every operation that reaches execution counts one, in
 * Redis (`quota:requests:<userId>:<YYYY-MM>`), and once a hard quota is used up the operation
 * is refused with QUOTA_EXCEEDED (HTTP 429) until the month ends. A soft quota only counts;
 * invoices bill the excess. Check and count are one atomic script, so concurrent operations
 * never pass a hard quota. Register after the cost limits: what they refuse is not counted.
 * With the cost limits on, their take counts it (`withCharge`), in the same script run, only
 * once the take is allowed; the plugin then only applies the outcome, and counts itself what
 * was not counted there (cost limits off, their Redis down).
 * Redis unreachable: allowed (counted nowhere; the quota is a business limit, not protection).
 */
export function createRequestQuota(options: { directory: PlanDirectory; redis: Redis; clock: Clock; logger: Logger }): RequestQuota {
  const { directory, redis, clock } = options;
  const warn = throttledWarning(options.logger, 'request quota not checked: Redis unavailable');
  redis.defineCommand('countRequestQuota', { numberOfKeys: 1, lua: COUNT_REQUEST });
  const countRequest = (redis as unknown as Record<string, (key: string, ...args: (string | number)[]) => Promise<[number, number]>>).countRequestQuota!.bind(redis);
  /** Outcomes the charge counted, for this plugin's hook on the same operation (the same args object). */
  const countedByCharge = new WeakMap<ExecutionArgs, CappedCountOutcome>();

  const counterOf = (principal: Principal | undefined, now: Date): CappedCount | null => {
    if (!principal?.userId) return null;
    const quotas = directory.quotasOf(principal.plan);
    return { key: requestCounterKey(principal.userId, now), limit: quotas.requestQuotaHard ? quotas.monthlyRequestQuota : null, ttlSeconds: QUOTA_COUNTER_TTL_SECONDS };
  };

  const refuseUnlessAdmitted = (args: ExecutionArgs, outcome: CappedCountOutcome, now: Date, stop: (result: ExecutionResult) => void) => {
    if (outcome.admitted) return;
    const { monthlyRequestQuota } = directory.quotasOf((args.contextValue as { principal: Principal }).principal.plan);
    // Nothing ran: HTTP 429, as for RATE_LIMITED (no Retry-After: the month's end is in `resetAt`).
    stop({ errors: [quotaExceeded('requests', monthlyRequestQuota, outcome.used, now, { http: { status: 429 } })] });
  };

  /** A promise only when Redis is asked: with nothing to count (no user) or counted by the charge, the pipeline goes on at once. */
  const check = (args: ExecutionArgs, stop: (result: ExecutionResult) => void): void | Promise<void> => {
    const now = clock.now();
    const counted = countedByCharge.get(args);
    if (counted) return refuseUnlessAdmitted(args, counted, now, stop);
    const counter = counterOf((args.contextValue as { principal?: Principal }).principal, now);
    if (!counter) return;
    return countRequest(counter.key, ...cappedCountArgs(counter))
      .then((reply) => cappedCountOutcome(...reply))
      .then(
        (outcome) => refuseUnlessAdmitted(args, outcome, now, stop),
        (error: unknown) => warn(error),
      );
  };

  return {
    plugin: {
      onExecute({ args, setResultAndStopExecution }) {
        return check(args, setResultAndStopExecution);
      },
      onSubscribe({ args, setResultAndStopExecution }) {
        return check(args, setResultAndStopExecution);
      },
    },
    withCharge: {
      counterOf: (args) => counterOf((args.contextValue as { principal?: Principal }).principal, clock.now()),
      counted: (args, outcome) => void countedByCharge.set(args, outcome),
    },
  };
}
