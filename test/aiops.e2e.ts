import { randomUUID } from 'node:crypto';

import { createClient as createWsClient } from 'graphql-ws';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { AIOPS_ALERTS_CHANNEL } from '../lib/live/keys.js';
import { prefixedChannel } from '../lib/live/pubsub.js';
import { type FakeSlack, startFakeSlack } from './fake-slack.js';
import { startTestPlatform, type TestPlatform } from './kit.js';
import { within } from './within.js';

// AIOps end to end: anomalies injected where the live figures come from, seen as alerts in
// the graph (query and subscription through the gateway) and as Slack messages.
// Both anomalies are real traffic through the platform's gateway, which its live-stats window
// counts and publishes: an error burst of operations that fail validation, and a latency spike
// of requests held by a table lock in PostgreSQL.

const WARMUP = 10;
const LOCK_HELD_MS = 1_500;
const ALERT_EVENTS = 'subscription { alertEvents { kind alert { id metric state severity value baseline threshold startedAt resolvedAt resolvedValue } } }';
const ALERTS = 'query ($state: AlertState, $first: Int!, $after: String) { alerts(state: $state, first: $first, after: $after) { edges { cursor node { id metric state severity } } pageInfo { hasNextPage endCursor } } }';

type AlertEventResult = { data?: { alertEvents: { kind: string; alert: Record<string, any> } }; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

describe('AIOps alerts on the live figures', () => {
  let platform: TestPlatform;
  let slack: FakeSlack;
  let adminToken: string;
  const disposers: Array<() => unknown> = [];

  beforeAll(async () => {
    slack = await startFakeSlack();
    platform = await startTestPlatform({
      startWorker: false,
      usage: {
        // Samples every 100 ms (the gateways publish every second over 10 s windows, so each
        // published figure is read several times); the counts are the defaults' shape, smaller.
        AIOPS_SAMPLE_INTERVAL_MS: 100,
        AIOPS_WARMUP_SAMPLES: WARMUP,
        AIOPS_RAISE_AFTER: 3,
        AIOPS_RESOLVE_AFTER: 5,
        AIOPS_SLACK_WEBHOOK_URL: slack.webhookUrl,
      },
    });
    adminToken = await platform.tokenFor(randomUUID(), { roles: ['admin'] });
  });
  afterAll(async () => {
    for (const dispose of disposers) await dispose();
    await platform?.stop();
    await slack?.close();
  });

  const subscribe = (token: string) => {
    const client = createWsClient({ url: platform.gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    disposers.push(() => client.dispose());
    return client.iterate({ query: ALERT_EVENTS }) as AsyncIterableIterator<AlertEventResult>;
  };
  const samplesTaken = async () => {
    const text = await (await fetch(platform.metricsUrls.usage)).text();
    return Number(/^lotabots_aiops_samples_total\{service="usage"\} (\d+)/m.exec(text)?.[1] ?? 0);
  };
  const listeners = async () => {
    const [, count] = (await platform.redis.pubsub('NUMSUB', prefixedChannel(platform.redis, AIOPS_ALERTS_CHANNEL))) as [string, number];
    return Number(count);
  };

  it('raises exactly one alert for an error burst and one for a latency spike, and resolves each once the figures are normal', async () => {
    const events = subscribe(adminToken);
    const next = async () => {
      const { value, done } = await within(events.next(), 90_000, 'no alert event');
      if (done) throw new Error('alertEvents ended');
      expect(value.errors).toBeUndefined();
      return value.data!.alertEvents;
    };
    const first = next();
    // Ready: the usage subgraph listens for alert events, and the detectors have learnt the quiet baseline.
    await until(async () => (await listeners()) >= 1, 'alertEvents listening');
    await until(async () => (await samplesTaken()) >= WARMUP + 5, 'warm-up done');

    // Error burst: 30 operations that fail validation at the gateway.
    const failing = await Promise.all(Array.from({ length: 30 }, () => platform.query('{ noSuchField }')));
    for (const { body } of failing) expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const errorRaised = await first;
    expect(errorRaised).toMatchObject({ kind: 'RAISED', alert: { metric: 'ERROR_RATE', state: 'FIRING', severity: 'CRITICAL', resolvedAt: null } });
    expect(errorRaised.alert.value).toBeGreaterThan(0.5);
    expect(errorRaised.alert.baseline).toBeLessThan(0.05);
    // Resolved once the failures leave the gateways' 10 s windows and five normal samples follow.
    const errorResolved = await next();
    expect(errorResolved).toMatchObject({ kind: 'RESOLVED', alert: { id: errorRaised.alert.id, metric: 'ERROR_RATE', state: 'RESOLVED' } });
    expect(errorResolved.alert.resolvedValue).toBeLessThan(0.05);

    // Latency spike: real requests held by PostgreSQL. The users table is locked in one
    // transaction while 20 `me` queries wait for it, so each takes at least LOCK_HELD_MS at the gateway.
    const slowCaller = { authorization: `Bearer ${await platform.tokenFor(randomUUID())}` };
    const locker = new pg.Client({ connectionString: platform.databaseUrl });
    await locker.connect();
    disposers.push(() => locker.end());
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE users."User" IN ACCESS EXCLUSIVE MODE');
    const held = Array.from({ length: 20 }, () => platform.query('{ me { id } }', undefined, slowCaller));
    const waiting = async () => Number((await locker.query(`SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'users."User"'::regclass`)).rows[0].count);
    await until(async () => (await waiting()) >= 1, 'a request waiting for the users table');
    // The spike's size, not a wait for something: how long the requests are held.
    await sleep(LOCK_HELD_MS);
    await locker.query('COMMIT');
    for (const { body } of await Promise.all(held)) expect(body).toMatchObject({ data: { me: null } });
    const latencyRaised = await next();
    expect(latencyRaised).toMatchObject({ kind: 'RAISED', alert: { metric: 'P95_LATENCY', state: 'FIRING' } });
    expect(latencyRaised.alert.value).toBeGreaterThanOrEqual(LOCK_HELD_MS);
    const latencyResolved = await next();
    expect(latencyResolved).toMatchObject({ kind: 'RESOLVED', alert: { id: latencyRaised.alert.id, metric: 'P95_LATENCY', state: 'RESOLVED' } });

    // The query: exactly these two, newest first, paged one by one.
    const auth = { authorization: `Bearer ${adminToken}` };
    const page1 = await platform.query(ALERTS, { first: 1 }, auth);
    expect(page1.body.errors).toBeUndefined();
    expect(page1.body.data!.alerts.edges.map((e: any) => e.node)).toEqual([{ id: latencyRaised.alert.id, metric: 'P95_LATENCY', state: 'RESOLVED', severity: latencyRaised.alert.severity }]);
    expect(page1.body.data!.alerts.pageInfo.hasNextPage).toBe(true);
    const page2 = await platform.query(ALERTS, { first: 10, after: page1.body.data!.alerts.pageInfo.endCursor }, auth);
    expect(page2.body.data!.alerts.edges.map((e: any) => e.node.id)).toEqual([errorRaised.alert.id]);
    expect(page2.body.data!.alerts.pageInfo.hasNextPage).toBe(false);
    expect((await platform.query(ALERTS, { state: 'FIRING', first: 10 }, auth)).body.data!.alerts.edges).toEqual([]);

    // Slack: one message per raise and per resolve, in order.
    const messages = await within(slack.received(4), 30_000, 'four Slack messages');
    expect(messages.map((m) => m.text.split(':')[1])).toEqual(['rotating_light', 'white_check_mark', 'rotating_light', 'white_check_mark']);
    expect(messages[0]!.text).toContain('Error rate');
    expect(messages[2]!.text).toContain('p95 latency');
    expect(JSON.stringify(messages[1]!.blocks)).toContain(errorRaised.alert.id);

    const metrics = await (await fetch(platform.metricsUrls.usage)).text();
    expect(metrics).toMatch(/^lotabots_aiops_alerts_raised_total\{metric="ERROR_RATE",severity="CRITICAL",service="usage"\} 1$/m);
    expect(metrics).toMatch(/^lotabots_aiops_alerts_raised_total\{metric="P95_LATENCY",severity="\w+",service="usage"\} 1$/m);
    expect(metrics).toMatch(/^lotabots_aiops_alerts_firing\{metric="ERROR_RATE",service="usage"\} 0$/m);
    expect(metrics).toMatch(/^lotabots_aiops_slack_messages_total\{outcome="sent",service="usage"\} 4$/m);
    expect(slack.messages).toHaveLength(4);
  }, 240_000);

  it('answers alerts and alertEvents only to metrics:read', async () => {
    const userToken = await platform.tokenFor(randomUUID());
    const { body } = await platform.query(ALERTS, { first: 5 }, { authorization: `Bearer ${userToken}` });
    expect(body.data?.alerts ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = await platform.query(ALERTS, { first: 5 });
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const refused = await within(subscribe(userToken).next(), 30_000, 'no answer');
    expect(refused.value?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('refuses a page size out of range and a cursor of another list with BAD_USER_INPUT', async () => {
    const auth = { authorization: `Bearer ${adminToken}` };
    expect((await platform.query(ALERTS, { first: 0 }, auth)).body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await platform.query(ALERTS, { first: 5, after: 'bm90OmFjdXJzb3I' }, auth)).body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
