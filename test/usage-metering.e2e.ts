import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Database, openDatabase } from '../lib/db/connection.js';
import { applyMigrations } from '../lib/db/migrations.js';
import { migrationSetOf } from '../lib/db/owners.js';
import { USAGE_EVENTS_STREAM } from '../lib/live/keys.js';
import { type UsageEvent, usageEventFields } from '../lib/live/usage-events.js';
import { connectRedis, deleteKeysWithPrefix, type Redis } from '../lib/redis.js';
import { METERING_GROUP } from '../subgraphs/usage/domain/metering.js';
import { testEnv } from './env.js';
import { createTestDatabase, type TestDatabase } from './kit.js';
import { bareEnv, spawnEntry } from './spawn.js';

// Metering (issue 18, item 1): the usage subgraph's real process consumes `usage:events` in its
// consumer group; killed with SIGKILL in the middle of consuming and started again, it has
// aggregated every event exactly once.

const TEST_TIMEOUT_MS = 240_000;
const WAIT_MS = 120_000;
const USERS = [randomUUID(), randomUUID(), randomUUID()];
const API_KEYS = [null, randomUUID()];

/** A real, expensive enough stream: many small batches, so a kill lands between two of them or inside one. */
const EVENT_COUNT = 4_000;
const DUPLICATES = 200;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(read: () => Promise<T>, accept: (value: T) => boolean, what: string, timeoutMs = WAIT_MS, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

describe('usage metering across a killed consumer process', () => {
  let database: TestDatabase;
  let db: Database;
  let redis: Redis;
  let keyDir: string;
  const prefix = `lotabots_test:${randomBytes(6).toString('hex')}:`;
  const children: ChildProcess[] = [];
  const output: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await openDatabase({ url: database.url, embeddedDataDir: 'memory://', poolSize: 2 });
    await applyMigrations(db, migrationSetOf('usage'));
    redis = await connectRedis({ url: testEnv.redisUrl, keyPrefix: prefix });
    keyDir = await mkdtemp(path.join(tmpdir(), 'lotabots-metering-'));
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    redis?.disconnect();
    await deleteKeysWithPrefix(testEnv.redisUrl, prefix);
    await db?.close();
    await database?.drop();
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
  });

  /** The usage subgraph's own entry (`npm run subgraph -- usage`), as production runs it. */
  const startUsageProcess = (consumerName: string, extra: Record<string, string> = {}) => {
    const child = spawnEntry('subgraphs/usage/main.ts', {
      env: {
        ...bareEnv(),
        DATABASE_URL: database.url,
        DATABASE_POOL_SIZE: '2',
        REDIS_URL: testEnv.redisUrl,
        REDIS_KEY_PREFIX: prefix,
        PORT: '0',
        METRICS_PORT: '0',
        DEV_KEY_DIR: keyDir,
        LOG_LEVEL: 'warn',
        USAGE_CONSUMER_NAME: consumerName,
        USAGE_METERING_BATCH_SIZE: '20',
        BILLING_CLOSE_INTERVAL_MS: '0',
        ...extra,
      },
    });
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    children.push(child);
    return child;
  };
  const killed = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });

  const processedCount = async () => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM usage."ProcessedEvent"'))[0]!.n);
  const pendingCount = async () => {
    const [count] = (await redis.xpending(USAGE_EVENTS_STREAM, METERING_GROUP)) as [number, ...unknown[]];
    return Number(count);
  };
  const lagOf = async () => {
    const groups = (await redis.xinfo('GROUPS', `${prefix}${USAGE_EVENTS_STREAM}`)) as Array<Array<string | number | null>>;
    const group = groups.map((fields) => Object.fromEntries(fields.flatMap((value, index) => (index % 2 ? [] : [[value, fields[index + 1]]])))).find((g) => g.name === METERING_GROUP);
    return group ? Number(group.lag ?? -1) : -1;
  };

  /** Appends events in pipelines; returns what the aggregates must add up to. */
  async function appendEvents(events: UsageEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 500) {
      const pipeline = redis.pipeline();
      for (const event of events.slice(i, i + 500)) pipeline.xadd(USAGE_EVENTS_STREAM, '*', ...usageEventFields(event));
      await pipeline.exec();
    }
  }

  const expectedTotals = (events: UsageEvent[]) => {
    const byUser = new Map<string, { requests: number; tokensIn: number; tokensOut: number }>();
    for (const event of new Map(events.map((e) => [e.eventId, e])).values()) {
      const totals = byUser.get(event.userId) ?? { requests: 0, tokensIn: 0, tokensOut: 0 };
      totals.requests += event.requests;
      totals.tokensIn += event.tokensIn;
      totals.tokensOut += event.tokensOut;
      byUser.set(event.userId, totals);
    }
    return Object.fromEntries([...byUser].sort(([a], [b]) => a.localeCompare(b)));
  };
  const aggregatedTotals = async (table: 'UsageHourly' | 'UsagePeriod') => {
    const rows = await db.query<{ userId: string; requests: string; tokensIn: string; tokensOut: string }>(
      `SELECT "userId"::text AS "userId", sum(requests)::text AS requests, sum("tokensIn")::text AS "tokensIn", sum("tokensOut")::text AS "tokensOut"
       FROM usage."${table}" GROUP BY "userId" ORDER BY "userId"`,
    );
    return Object.fromEntries(rows.map((row) => [row.userId, { requests: Number(row.requests), tokensIn: Number(row.tokensIn), tokensOut: Number(row.tokensOut) }]));
  };

  const makeEvents = (count: number, at: Date): UsageEvent[] =>
    Array.from({ length: count }, (_, i) => {
      const inference = i % 5 === 0;
      return {
        eventId: inference ? `inference:${randomUUID()}` : randomUUID(),
        userId: USERS[i % USERS.length]!,
        // Spread over two hours, so hourly rows and the period row both get many events.
        at: new Date(at.getTime() + (i % 2) * 3_600_000).toISOString(),
        apiKeyId: API_KEYS[i % API_KEYS.length],
        operationName: inference ? null : `Operation${i % 7}`,
        status: i % 11 === 0 ? 'error' : 'ok',
        latencyMs: i % 50,
        estimatedCost: inference ? null : 10,
        actualCost: inference ? null : 3,
        requests: inference ? 0 : 1,
        tokensIn: inference ? 100 + (i % 13) : 0,
        tokensOut: inference ? 7 * (i % 17) : 0,
        model: inference ? 'lotabots-tiny-cpu' : null,
        cached: inference ? i % 2 === 0 : null,
      };
    });

  it(
    'aggregates every event exactly once when the consumer is killed with SIGKILL mid-consumption and restarted, duplicates counted once',
    async () => {
      const events = makeEvents(EVENT_COUNT, new Date('2026-10-15T10:00:00.000Z'));
      // Delivered twice: some right after themselves (same batch), some much later (another batch).
      const duplicates = [...events.slice(0, DUPLICATES / 2), ...events.slice(1_000, 1_000 + DUPLICATES / 2)];
      await appendEvents([...events.slice(0, 10), events[0]!, ...events.slice(10), ...duplicates]);

      const first = startUsageProcess('usage-meter-a');
      // Consumption under way: a share committed, far from all.
      const atKill = await until(processedCount, (n) => n >= EVENT_COUNT / 10, 'events processed before the kill');
      await killed(first);
      const afterKill = await processedCount();
      expect(atKill).toBeGreaterThan(0);
      expect(afterKill, 'the kill must land in the middle of consumption').toBeLessThan(EVENT_COUNT);

      startUsageProcess('usage-meter-a');
      await until(async () => ({ processed: await processedCount(), pending: await pendingCount(), lag: await lagOf() }), (s) => s.processed === EVENT_COUNT && s.pending === 0 && s.lag === 0, 'all events aggregated');

      const expected = expectedTotals(events);
      expect(await aggregatedTotals('UsagePeriod')).toEqual(expected);
      expect(await aggregatedTotals('UsageHourly')).toEqual(expected);
      const [requests] = await db.query<{ n: string }>('SELECT sum(requests)::text AS n FROM usage."UsagePeriod"');
      expect(Number(requests!.n)).toBe(events.filter((event) => event.requests === 1).length);
      // Per API key too: the signed-in share ('' key) and the key's share add up to each user's total.
      const keys = await db.query<{ apiKeyId: string }>('SELECT DISTINCT "apiKeyId" FROM usage."UsagePeriod" ORDER BY 1');
      expect(keys.map((row) => row.apiKeyId)).toEqual(['', API_KEYS[1]].sort());
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "takes over a dead consumer's pending events under another name (XAUTOCLAIM) and counts each once",
    async () => {
      const before = await processedCount();
      const events = makeEvents(EVENT_COUNT / 2, new Date('2026-11-03T08:00:00.000Z'));
      const totalsBefore = await aggregatedTotals('UsagePeriod');
      await appendEvents(events);

      const dying = startUsageProcess('usage-meter-b');
      await until(processedCount, (n) => n >= before + EVENT_COUNT / 20, 'events processed before the kill');
      await killed(dying);
      expect(await processedCount()).toBeLessThan(before + events.length);

      // A replica with another name: the dead one's pending entries are taken over once idle.
      startUsageProcess('usage-meter-c', { USAGE_METERING_CLAIM_IDLE_MS: '200' });
      await until(async () => ({ processed: await processedCount(), pending: await pendingCount(), lag: await lagOf() }), (s) => s.processed === before + events.length && s.pending === 0 && s.lag === 0, 'all events aggregated');

      const added = expectedTotals(events);
      const expected = Object.fromEntries(
        USERS.map((userId) => [
          userId,
          {
            requests: totalsBefore[userId]!.requests + added[userId]!.requests,
            tokensIn: totalsBefore[userId]!.tokensIn + added[userId]!.tokensIn,
            tokensOut: totalsBefore[userId]!.tokensOut + added[userId]!.tokensOut,
          },
        ]),
      );
      expect(await aggregatedTotals('UsagePeriod')).toEqual(expected);
      expect(await aggregatedTotals('UsageHourly')).toEqual(expected);
    },
    TEST_TIMEOUT_MS,
  );
});
