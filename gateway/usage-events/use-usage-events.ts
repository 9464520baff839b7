import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { type DocumentNode, type ExecutionArgs, type ExecutionResult, getOperationAST } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { Counter, type Registry } from 'prom-client';

import type { Principal } from '../../lib/auth/principal.js';
import type { Clock } from '../../lib/clock.js';
import { recordUsageEvent, type UsageEvent } from '../../lib/live/usage-events.js';
import type { Logger } from '../../lib/logger.js';
import { METRIC_NAMESPACE } from '../../lib/metrics.js';
import type { Redis } from '../../lib/redis.js';
import { throttledWarning } from '../../lib/throttled-warning.js';

export interface UsageEventsOptions {
  redis: Redis;
  clock: Clock;
  logger: Logger;
  /** The gateway's registry, for `lotabots_usage_events_total`. */
  registry: Registry;
  /** Operations that ran but were refused afterwards (the request quota's, for a query counted alongside it): not metered. */
  refusedAfterExecution?: (args: ExecutionArgs) => boolean;
}

/**
 * Meters every operation of a caller with a LotaBots user (signed in, or an API key's owner):
 * after each query or mutation has executed, and once when a subscription starts, it appends
 * a usage event with a unique `eventId` to the `usage:events` stream: `requests: 1`, the API
 * key, operation name, estimated and actual cost (the cost plugin's `extensions.cost`, so
 * register after `useCostLimits`), status (`error` when the result has errors) and latency.
 * The usage subgraph aggregates the stream and publishes `usageLive` updates.
 * Fire and forget, once the response is under way: the response never waits for Redis, and
 * a failure is counted and logged, never seen by the client. Operations that do not reach
 * execution (unparseable, invalid, rejected before execution) are not metered. Register after `useAuth`, which puts the
 * principal in the context.
 */
export function useUsageEvents(options: UsageEventsOptions): Plugin<{ principal?: Principal }> {
  const { redis, clock, logger } = options;
  const events = new Counter({
    name: `${METRIC_NAMESPACE}_usage_events_total`,
    help: 'Usage events the gateway emitted, by outcome (recorded, failed: Redis did not take them).',
    labelNames: ['outcome'] as const,
    registers: [options.registry],
  });
  // While Redis is down every operation fails to record: one line per interval, with the count, says it all.
  const notRecorded = throttledWarning(logger, 'usage events not recorded');
  const failed = (error: unknown) => {
    events.inc({ outcome: 'failed' });
    notRecorded(error);
  };

  const record = (
    principal: Principal | undefined,
    document: DocumentNode,
    operationName: string | null | undefined,
    outcome: { result: ExecutionResult | null; startedAt: number },
  ) => {
    const userId = principal?.userId;
    if (!userId) return;
    const cost = costOf(outcome.result);
    const event: UsageEvent = {
      eventId: randomUUID(),
      userId,
      at: clock.now().toISOString(),
      apiKeyId: principal.apiKeyId,
      operationName: operationName ?? getOperationAST(document, operationName)?.name?.value ?? null,
      status: outcome.result?.errors?.length ? 'error' : 'ok',
      latencyMs: Math.round(performance.now() - outcome.startedAt),
      estimatedCost: cost.estimated,
      actualCost: cost.actual,
      requests: 1,
      tokensIn: 0,
      tokensOut: 0,
    };
    // Sent after the response: writing it to Redis's socket took a syscall before the answer's.
    setImmediate(() => void recordUsageEvent(redis, event).then(() => events.inc({ outcome: 'recorded' }), failed));
  };

  return {
    onExecute({ args }) {
      const startedAt = performance.now();
      return {
        onExecuteDone({ result }) {
          if (options.refusedAfterExecution?.(args)) return;
          // An incremental (streamed) result has no single final shape: metered without its figures.
          const final = isAsyncIterable(result) ? null : result;
          record(args.contextValue.principal, args.document, args.operationName, { result: final, startedAt });
        },
      };
    },
    onSubscribe({ args }) {
      const startedAt = performance.now();
      return {
        onSubscribeResult({ result }) {
          record(args.contextValue.principal, args.document, args.operationName, { result: isAsyncIterable(result) ? null : result, startedAt });
        },
      };
    },
  };
}

/** `extensions.cost` as the cost plugin left it on the result; nulls where it has none. */
function costOf(result: ExecutionResult | null): { estimated: number | null; actual: number | null } {
  const cost = result?.extensions?.cost as { requestedQueryCost?: unknown; actualQueryCost?: unknown } | undefined;
  const count = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null);
  return { estimated: count(cost?.requestedQueryCost), actual: count(cost?.actualQueryCost) };
}
