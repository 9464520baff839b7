import { randomUUID } from 'node:crypto';

import { type DocumentNode, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Counter, type Registry } from 'prom-client';

import type { Principal } from '../../lib/auth/principal.js';
import type { Clock } from '../../lib/clock.js';
import { recordUsageEvent } from '../../lib/live/usage-events.js';
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
}

/**
 * Meters every operation of a caller with a LotaBots user (signed in, or an API key's owner):
 * after each query or mutation has executed, and once when a subscription starts, it
 * publishes `{ userId, at, operationName, requests: 1, tokensIn: 0, tokensOut: 0 }` on
 * `usage:live:<userId>` (for `usageLive`) and appends it with a unique `eventId` to the
 * `usage:events` stream (for the aggregator), in one Redis round trip.
 * Fire and forget: the response never waits for Redis, and a failure is counted and logged,
 * never seen by the client. Operations that do not reach execution (unparseable, invalid,
 * rejected before execution) are not metered. Register after `useAuth`, which puts the
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

  const record = (principal: Principal | undefined, document: DocumentNode, operationName: string | null | undefined) => {
    const userId = principal?.userId;
    if (!userId) return;
    const event = {
      eventId: randomUUID(),
      userId,
      at: clock.now().toISOString(),
      operationName: operationName ?? getOperationAST(document, operationName)?.name?.value ?? null,
      requests: 1,
      tokensIn: 0,
      tokensOut: 0,
    };
    recordUsageEvent(redis, event).then(() => events.inc({ outcome: 'recorded' }), failed);
  };

  return {
    onExecute({ args }) {
      return {
        onExecuteDone() {
          record(args.contextValue.principal, args.document, args.operationName);
        },
      };
    },
    onSubscribe({ args }) {
      return {
        onSubscribeResult() {
          record(args.contextValue.principal, args.document, args.operationName);
        },
      };
    },
  };
}
