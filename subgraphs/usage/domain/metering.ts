import { Counter, type Registry } from 'prom-client';

import { USAGE_EVENTS_STREAM, usageLiveChannel } from '../../../lib/live/keys.js';
import { prefixedChannel } from '../../../lib/live/pubsub.js';
import { type LiveUsageUpdate, parseUsageEventFields } from '../../../lib/live/usage-events.js';
import type { Logger } from '../../../lib/logger.js';
import { METRIC_NAMESPACE } from '../../../lib/metrics.js';
import { isInProcessStandIn, type Redis } from '../../../lib/redis.js';
import { createConsumerGroup } from '../../../lib/streams/consumer.js';
import { throttledWarning } from '../../../lib/throttled-warning.js';
import type { AggregatesRepository, MeteredEvent, PeriodTotals } from '../data/aggregates-repository.js';
import { monthOf, periodStartOf } from './billing-period.js';

/** The consumer group every usage subgraph replica reads `usage:events` in. */
export const METERING_GROUP = 'usage-aggregator';

export interface MeteringOptions {
  redis: Redis;
  aggregates: AggregatesRepository;
  logger: Logger;
  registry: Registry;
  /** This replica's name in the group: stable across restarts, so a restart finds its own pending entries. */
  consumerName: string;
  /** Stream entries per read, aggregated in one transaction. */
  batchSize: number;
  /** How long one read waits for new entries; under the Redis client's 5 s command timeout. */
  blockMs: number;
  /** Entries another replica has held unacknowledged this long are taken over (it is presumed dead). */
  claimIdleMs: number;
}

type StreamEntry = [id: string, fields: string[] | null];

/** @default 1_000 // ms between attempts while PostgreSQL or Redis fails. */
const RETRY_DELAY_MS = 1_000;
/** @default 100 // ms between polls of the in-process Redis stand-in, which has no consumer groups. */
const STAND_IN_POLL_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * Consumes `usage:events` in the consumer group `usage-aggregator` and aggregates each batch
 * into PostgreSQL (data/aggregates-repository.ts: ProcessedEvent and the aggregates in one
 * transaction), acknowledging the batch only after it committed. An entry delivered again
 * (a consumer killed between commit and XACK, or mid-batch) is counted once. On start a
 * consumer first re-reads its own pending entries (the group's PEL from 0), and it takes
 * over entries other consumers left pending longer than `claimIdleMs` (XAUTOCLAIM). After
 * each commit it publishes one `usageLive` update per counted event, with the user's new
 * period totals. Entries that are not valid events are acknowledged and counted as invalid.
 * With the in-process Redis stand-in (`npm start` without REDIS_URL), which has no consumer
 * groups, it polls with XREAD from the start of the stream instead: one process, and the
 * PostgreSQL dedupe keeps a restart from counting anything twice.
 */
export function createMeteringConsumer(options: MeteringOptions) {
  const { redis, aggregates, logger, batchSize } = options;
  const outcomes = new Counter({
    name: `${METRIC_NAMESPACE}_usage_events_aggregated_total`,
    help: 'Usage events the aggregator read, by outcome (counted; duplicate: counted before; invalid: not an event).',
    labelNames: ['outcome'] as const,
    registers: [options.registry],
  });
  const failing = throttledWarning(logger, 'usage aggregation failed; retrying');
  let stopped = false;
  let reader: Redis | null = null;
  let running: Promise<void> | null = null;

  /** Aggregates, acknowledges and publishes one batch. */
  async function handle(entries: StreamEntry[], acknowledge: (ids: string[]) => Promise<unknown>): Promise<void> {
    if (entries.length === 0) return;
    const events: MeteredEvent[] = [];
    let invalid = 0;
    for (const [id, fields] of entries) {
      const event = fields ? parseUsageEventFields(fields) : null;
      if (event) events.push(event);
      // A pending entry trimmed from the stream comes back without fields: nothing left to count.
      else if (fields) {
        invalid += 1;
        logger.warn({ entryId: id }, 'usage stream entry is not a usage event; acknowledged without counting');
      }
    }
    const { counted, totals } = await aggregates.aggregate(events);
    await acknowledge(entries.map(([id]) => id));
    outcomes.inc({ outcome: 'counted' }, counted.length);
    outcomes.inc({ outcome: 'duplicate' }, events.length - counted.length);
    outcomes.inc({ outcome: 'invalid' }, invalid);
    await publishLiveUpdates(counted, totals).catch((error: unknown) => logger.warn({ err: error }, 'usageLive updates not published'));
  }

  async function publishLiveUpdates(counted: MeteredEvent[], totals: PeriodTotals[]): Promise<void> {
    if (counted.length === 0) return;
    const totalsByKey = new Map(totals.map((total) => [`${total.userId} ${total.periodStart.toISOString()}`, total]));
    const pipeline = redis.pipeline();
    for (const event of counted) {
      const period = monthOf(new Date(event.at));
      const total = totalsByKey.get(`${event.userId} ${periodStartOf(new Date(event.at)).toISOString()}`);
      const update: LiveUsageUpdate = {
        userId: event.userId,
        at: event.at,
        operationName: event.operationName,
        requests: event.requests,
        tokensIn: event.tokensIn,
        tokensOut: event.tokensOut,
        periodTotals: {
          periodStart: period.start.toISOString(),
          periodEnd: period.end.toISOString(),
          requests: total?.requests ?? event.requests,
          tokensIn: total?.tokensIn ?? event.tokensIn,
          tokensOut: total?.tokensOut ?? event.tokensOut,
        },
      };
      pipeline.publish(prefixedChannel(redis, usageLiveChannel(event.userId)), JSON.stringify(update));
    }
    await pipeline.exec();
  }

  const { consumerName } = options;
  const ack = (ids: string[]) => redis.xack(USAGE_EVENTS_STREAM, METERING_GROUP, ...ids);
  const entriesOf = (reply: unknown): StreamEntry[] => (reply as Array<[string, StreamEntry[]]> | null)?.[0]?.[1] ?? [];

  const ensureGroup = () => createConsumerGroup(redis, USAGE_EVENTS_STREAM, METERING_GROUP, '0');

  /** This consumer's own pending entries, oldest first, until none is left. */
  async function drainOwnPending(client: Redis): Promise<void> {
    for (;;) {
      const entries = entriesOf(await client.xreadgroup('GROUP', METERING_GROUP, consumerName, 'COUNT', batchSize, 'STREAMS', USAGE_EVENTS_STREAM, '0'));
      if (entries.length === 0 || stopped) return;
      await handle(entries, ack);
    }
  }

  /** Entries other consumers left pending past `claimIdleMs`, now this consumer's. */
  async function claimAbandoned(client: Redis): Promise<void> {
    let cursor = '0-0';
    do {
      const [next, entries] = (await client.xautoclaim(USAGE_EVENTS_STREAM, METERING_GROUP, consumerName, options.claimIdleMs, cursor, 'COUNT', batchSize)) as [
        string,
        StreamEntry[],
      ];
      await handle(entries, ack);
      cursor = next;
    } while (cursor !== '0-0' && !stopped);
  }

  async function consumeGroup(): Promise<void> {
    // A blocking read holds its connection: it gets one of its own, which stop() closes.
    const client = redis.duplicate();
    reader = client;
    let recovering = true;
    let lastClaimAt = 0;
    while (!stopped) {
      try {
        // Created without connecting (lazyConnect): connect on first use, and after it ended.
        if (client.status === 'wait' || client.status === 'end') await client.connect();
        if (recovering) {
          await ensureGroup();
          await drainOwnPending(client);
          recovering = false;
        }
        if (Date.now() - lastClaimAt >= options.claimIdleMs) {
          await claimAbandoned(client);
          lastClaimAt = Date.now();
        }
        const reply = await client.xreadgroup('GROUP', METERING_GROUP, consumerName, 'COUNT', batchSize, 'BLOCK', options.blockMs, 'STREAMS', USAGE_EVENTS_STREAM, '>');
        if (!stopped) await handle(entriesOf(reply), ack);
      } catch (error) {
        if (stopped) break;
        failing(error);
        // What was read but not committed stays pending: read it again before anything new.
        recovering = true;
        await sleep(RETRY_DELAY_MS);
      }
    }
    client.disconnect();
  }

  async function pollStandIn(): Promise<void> {
    let lastId = '0';
    while (!stopped) {
      try {
        const entries = entriesOf(await redis.xread('COUNT', batchSize, 'STREAMS', USAGE_EVENTS_STREAM, lastId));
        if (entries.length === 0) await sleep(STAND_IN_POLL_MS);
        await handle(entries, async () => {});
        if (entries.length > 0) lastId = entries[entries.length - 1]![0];
      } catch (error) {
        failing(error);
        await sleep(RETRY_DELAY_MS);
      }
    }
  }

  return {
    start(): void {
      if (running) return;
      running = isInProcessStandIn(redis) ? pollStandIn() : consumeGroup();
    },
    /** Stops reading; a batch being aggregated finishes (commits and acknowledges) first. */
    async stop(): Promise<void> {
      stopped = true;
      reader?.disconnect();
      await running;
    },
  };
}

export type MeteringConsumer = ReturnType<typeof createMeteringConsumer>;
