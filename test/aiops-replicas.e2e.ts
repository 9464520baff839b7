import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { systemClock } from '../lib/clock.js';
import { type Database, openDatabase } from '../lib/db/connection.js';
import { applyMigrations } from '../lib/db/migrations.js';
import { migrationSetOf } from '../lib/db/owners.js';
import { createAlertsRepository } from '../subgraphs/usage/data/alerts-repository.js';
import { createUsagePrisma, type UsagePrisma } from '../subgraphs/usage/data/database.js';
import type { AlertEvent } from '../subgraphs/usage/domain/aiops/alert-events.js';
import type { DetectorParams } from '../subgraphs/usage/domain/aiops/detector.js';
import { WATCHED_METRIC_NAMES } from '../subgraphs/usage/domain/aiops/watched-metrics.js';
import { createAlertWatcher } from '../subgraphs/usage/domain/aiops/watcher.js';
import type { PlatformFigures } from '../subgraphs/usage/domain/platform-metrics.js';
import { createTestDatabase, type TestDatabase } from './kit.js';

// The watcher against the real usage tables: an open alert survives a restart and resolves
// after it, and replicas watching the same figures raise and resolve one alert between them.

const PARAMS: DetectorParams = { alpha: 0.1, zThreshold: 4, minDeviation: 250, warmupSamples: 3, raiseAfter: 2, resolveAfter: 3 };
const QUIET: PlatformFigures = { at: new Date(0), requestsPerSecond: 10, errorRate: 0, p95LatencyMs: 40, openSubscriptions: 0, queueDepth: 0, tokensPerSecond: 0, scaling: null };

describe('AIOps alerts across restarts and replicas', () => {
  let database: TestDatabase;
  let db: Database;
  let prisma: UsagePrisma;
  let figures: PlatformFigures = QUIET;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await openDatabase({ url: database.url, embeddedDataDir: 'memory://', poolSize: 4 });
    await applyMigrations(db, migrationSetOf('usage'));
    prisma = createUsagePrisma(db);
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await db?.close();
    await database?.drop();
  });

  const until = async (check: () => boolean) => {
    while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
  };

  /** A replica's watcher over `figures`; `events` are the transitions it announced; `samples` how many readings it took. */
  function replica() {
    const events: AlertEvent[] = [];
    let samples = 0;
    const watcher = createAlertWatcher({
      sample: async () => {
        samples += 1;
        return figures;
      },
      alerts: createAlertsRepository(prisma),
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      intervalMs: 10,
      params: Object.fromEntries(WATCHED_METRIC_NAMES.map((metric) => [metric, PARAMS])) as Record<(typeof WATCHED_METRIC_NAMES)[number], DetectorParams>,
      criticalFactor: 3,
      announce: (event) => void events.push(event),
    });
    const samplesTaken = async (count: number) => {
      const target = samples + count;
      while (samples < target) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    return { watcher, events, samplesTaken };
  }

  it('resumes an alert left open by a restart and resolves it, without raising it again', async () => {
    figures = QUIET;
    const before = replica();
    await before.watcher.start();
    await before.samplesTaken(PARAMS.warmupSamples + 1);
    figures = { ...QUIET, p95LatencyMs: 5_000 };
    await until(() => before.events.length === 1);
    await before.watcher.stop();
    const raised = before.events[0]!;
    expect(raised).toMatchObject({ kind: 'RAISED', alert: { metric: 'P95_LATENCY', state: 'FIRING', severity: 'CRITICAL', value: 5_000 } });

    // The restarted replica knows the alert from the table, not from memory.
    const after = replica();
    await after.watcher.start();
    await after.samplesTaken(5);
    expect(after.events).toEqual([]);
    figures = QUIET;
    await until(() => after.events.length === 1);
    await after.watcher.stop();
    expect(after.events[0]).toMatchObject({ kind: 'RESOLVED', alert: { id: raised.alert.id, state: 'RESOLVED', resolvedValue: 40 } });
    expect(await prisma.alert.count()).toBe(1);
  });

  it('raises and resolves one alert when two replicas see the same incident', async () => {
    await prisma.alert.deleteMany();
    figures = QUIET;
    const [a, b] = [replica(), replica()];
    await Promise.all([a.watcher.start(), b.watcher.start()]);
    await Promise.all([a.samplesTaken(PARAMS.warmupSamples + 1), b.samplesTaken(PARAMS.warmupSamples + 1)]);
    figures = { ...QUIET, p95LatencyMs: 5_000 };
    await until(() => a.events.length + b.events.length >= 1);
    // Both have judged several anomalous samples since: each had its chance to raise.
    await Promise.all([a.samplesTaken(PARAMS.raiseAfter + 2), b.samplesTaken(PARAMS.raiseAfter + 2)]);
    figures = QUIET;
    await Promise.all([a.samplesTaken(PARAMS.resolveAfter + 3), b.samplesTaken(PARAMS.resolveAfter + 3)]);
    await Promise.all([a.watcher.stop(), b.watcher.stop()]);
    const all = [...a.events, ...b.events];
    expect(all.map((event) => [event.kind, event.alert.metric])).toEqual(expect.arrayContaining([['RAISED', 'P95_LATENCY'], ['RESOLVED', 'P95_LATENCY']]));
    expect(all).toHaveLength(2);
    expect(await prisma.alert.findMany({ select: { metric: true, state: true } })).toEqual([{ metric: 'P95_LATENCY', state: 'RESOLVED' }]);
  });
});
