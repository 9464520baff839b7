import { type ExecutionArgs, type ExecutionResult, getOperationAST } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

import type { Principal } from '../../lib/auth/principal.js';
import { setBounded } from '../../lib/bounded-map.js';
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
  /** Whether this operation was refused after it ran (a query counted alongside its execution): not to be metered. */
  refusedAfterExecution(args: ExecutionArgs): boolean;
}

/** @default 10_000 // hard quotas this process saw used up (by counter key and limit); their callers' queries wait for the count again. */
const MAX_EXHAUSTED_QUOTAS = 10_000;

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
 *
 * A query (no side effects) the plugin counts itself is counted alongside its execution, not
 * before it: the Redis round trip leaves the response's path, and should the count refuse it,
 * the refusal replaces its result (its data never leaves) and it is not metered. A caller
 * whose hard quota this process saw used up waits for the count again (until the month or
 * the limit changes), so refused queries do not keep reaching the subgraphs. Mutations and
 * subscriptions are counted first, always.
 */
export function createRequestQuota(options: { directory: PlanDirectory; redis: Redis; clock: Clock; logger: Logger }): RequestQuota {
  const { directory, redis, clock } = options;
  const warn = throttledWarning(options.logger, 'request quota not checked: Redis unavailable');
  redis.defineCommand('countRequestQuota', { numberOfKeys: 1, lua: COUNT_REQUEST });
  const countRequest = (redis as unknown as Record<string, (key: string, ...args: (string | number)[]) => Promise<[number, number]>>).countRequestQuota!.bind(redis);
  /** Outcomes the charge counted, for this plugin's hook on the same operation (the same args object). */
  const countedByCharge = new WeakMap<ExecutionArgs, CappedCountOutcome>();

  /** The caller's counter for this operation's month, or null when there is no user to count for. */
  const counterOf = (args: ExecutionArgs, now: Date): CappedCount | null => {
    const principal = (args.contextValue as { principal?: Principal }).principal;
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

  /** Hard quotas seen used up, by `exhaustedKey`: a new month or a changed limit is another entry. */
  const exhausted = new Map<string, true>();
  const exhaustedKey = (counter: CappedCount) => `${counter.key}|${counter.limit}`;
  const refusedLate = new WeakSet<ExecutionArgs>();

  /** The count's outcome, or null when Redis did not answer (allowed, warned). */
  const count = (counter: CappedCount): Promise<CappedCountOutcome | null> =>
    countRequest(counter.key, ...cappedCountArgs(counter)).then(
      (reply) => {
        const outcome = cappedCountOutcome(...reply);
        if (!outcome.admitted) setBounded(exhausted, exhaustedKey(counter), true, MAX_EXHAUSTED_QUOTAS);
        return outcome;
      },
      (error: unknown) => {
        warn(error);
        return null;
      },
    );

  /** A promise only when Redis is asked: with nothing to count (no user) or counted by the charge, the pipeline goes on at once. */
  const check = (args: ExecutionArgs, stop: (result: ExecutionResult) => void): void | Promise<void> => {
    const now = clock.now();
    const counted = countedByCharge.get(args);
    if (counted) return refuseUnlessAdmitted(args, counted, now, stop);
    const counter = counterOf(args, now);
    if (!counter) return;
    return count(counter).then((outcome) => {
      if (outcome) refuseUnlessAdmitted(args, outcome, now, stop);
    });
  };

  /** The count of a query, started now and applied to its result when execution is done; null when it must be counted first. */
  const countAlongside = (args: ExecutionArgs) => {
    if (countedByCharge.has(args) || getOperationAST(args.document, args.operationName)?.operation !== 'query') return null;
    const now = clock.now();
    const counter = counterOf(args, now);
    if (!counter || exhausted.has(exhaustedKey(counter))) return null;
    const counting = count(counter);
    return {
      onExecuteDone({ result, setResult }: { result: unknown; setResult: (result: ExecutionResult) => void }) {
        return counting.then((outcome) => {
          if (!outcome) return;
          refuseUnlessAdmitted(args, outcome, now, (refusal) => {
            if (isAsyncIterable(result)) void (result as AsyncIterableIterator<unknown>).return?.();
            refusedLate.add(args);
            setResult(refusal);
          });
        });
      },
    };
  };

  return {
    plugin: {
      onExecute({ args, setResultAndStopExecution }) {
        return countAlongside(args) ?? check(args, setResultAndStopExecution);
      },
      onSubscribe({ args, setResultAndStopExecution }) {
        return check(args, setResultAndStopExecution);
      },
    },
    withCharge: {
      counterOf: (args) => counterOf(args, clock.now()),
      counted: (args, outcome) => void countedByCharge.set(args, outcome),
    },
    refusedAfterExecution: (args) => refusedLate.has(args),
  };
}
