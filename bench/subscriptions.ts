import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { type Client, createClient, type FormattedExecutionResult } from 'graphql-ws';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';

import { createAccessTokenIssuer } from '../lib/auth/access-token.js';
import { scopesOfRoles } from '../lib/auth/principal.js';
import { usageLiveChannel } from '../lib/live/keys.js';
import { prefixedChannel } from '../lib/live/pubsub.js';
import type { LiveUsageUpdate } from '../lib/live/usage-events.js';
import { type GatewayProcess, metricValue, platformGatewayEnv, type ProcessMemory, startGatewayProcess } from './lib/gateway-process.js';
import { expectField, postGraphQL } from './lib/graphql.js';
import { median, percentileOfSorted } from './lib/stats.js';
import type { BenchContext } from './scenarios.js';

/**
 * The subscription benchmark (issue: "open subscriptions held by one gateway process and its
 * RSS, target 10,000 under 300 MB, and publish→client p50/p99 latency at 1,000 events/s").
 *
 * 1. Starts a second gateway, `gateway/main.ts` in a process of its own, in front of the
 *    benchmark platform's subgraphs, so the memory measured is the gateway's alone.
 * 2. Opens `count` `usageLive` subscriptions as the seeded user, multiplexed over `sockets`
 *    graphql-ws connections, in chunks, each chunk confirmed by the gateway's
 *    `lotabots_gateway_open_subscriptions` gauge. They are identical subscriptions of one
 *    caller, so the gateway shares one upstream subscription among them.
 * 3. Fan-out: publishes BROADCASTS events on the user's live channel, one at a time; each
 *    must reach every one of the `count` subscriptions (which proves they are all live).
 * 4. Reads the gateway's RSS (`/proc/<pid>/status`) and heap (`/metrics`): before opening,
 *    with the subscriptions open, and at the end.
 * 5. Latency: `probes` more users (access tokens minted with the platform's key) open one
 *    subscription each, on their own sockets; `eventRate` events/s are published for
 *    `eventSeconds`, round-robin over the probes' channels, so each event goes to one client
 *    and the gateway delivers `eventRate` events/s in all, while it holds the `count` idle
 *    subscriptions too. Every event carries its sequence number (in `operationName`), and its
 *    publish time is kept here, so each delivery's publish→client latency is exact.
 */

export interface SubscriptionSettings {
  count: number;
  sockets: number;
  probes: number;
  eventRate: number;
  eventSeconds: number;
  /** The gateway process's LOG_LEVEL. */
  logLevel: string;
  /** The gateway process's NODE_OPTIONS. */
  nodeOptions: string;
}

export interface SubscriptionResult {
  settings: Omit<SubscriptionSettings, 'logLevel'>;
  /** The gateway's open-subscriptions gauge once all were opened (before the probes). */
  opened: number;
  openSeconds: number;
  /** Gateway process memory: ready and idle / with `count` subscriptions open / at the end (with the probes). */
  memory: { idle: ProcessMemory | null; open: ProcessMemory | null; end: ProcessMemory | null };
  /** V8 heap in use (`lotabots_nodejs_heap_size_used_bytes`) at the same moments. */
  heapUsedBytes: { idle: number; open: number; end: number };
  /** (RSS open − RSS idle) ÷ count, in KB (1,000 bytes). */
  rssPerSubscriptionKB: number;
  /** The target, in MB (10⁶ bytes). */
  rssTargetMB: number;
  /** RSS with `count` open is within the target (and every subscription was open). */
  withinTarget: boolean;
  upstream: {
    /** TCP connections from the gateway process to the usage subgraph while the `count` subscriptions were open (one per upstream subscription). */
    gatewayToUsageConnections: number | null;
    /** `PUBSUB NUMSUB` of the user's live channel: Redis connections subscribed to it (the usage subgraph's one). */
    redisSubscribers: number;
  };
  /** One event to all `count` subscriptions, medians over the broadcasts; ms after the publish. */
  fanout: { broadcasts: number; firstMs: number; p50Ms: number; p99Ms: number; lastMs: number; missing: number };
  latency: {
    published: number;
    /** Seconds from the first to the last publish. */
    publishSeconds: number;
    received: number;
    lost: number;
    /** Deliveries ÷ seconds from the first publish to the last delivery. */
    deliveredPerSec: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
  };
  failures: {
    /** Error results or transport errors at any subscription. */
    errors: number;
    /** Subscriptions that completed (the gateway ended them) while they should have stayed open. */
    ended: number;
    /** Events that were not the benchmark's own. */
    unexpected: number;
    firstError: string | null;
  };
}

/** The target from the issue. @default 300 // MB (10⁶ bytes) of RSS with 10,000 subscriptions open */
export const RSS_TARGET_MB = 300;
/** Events sent to all `count` subscriptions. @default 3 */
const BROADCASTS = 3;
/** Subscriptions sent before waiting for the gateway to count them open. @default 500 */
const OPEN_CHUNK = 500;
/** A wait that makes no progress for this long fails the run. @default 30_000 // ms */
const STALL_TIMEOUT_MS = 30_000;
/** The publisher's pace: every tick sends the events due by then, in one pipeline. @default 10 // ms */
const PUBLISH_TICK_MS = 10;
/** After the last publish, how long late deliveries are waited for before they count as lost. @default 3_000 // ms */
const DRAIN_MS = 3_000;

const USAGE_LIVE = 'subscription BenchUsageLive { usageLive { at operationName requests user { id } } }';
/** Every event the benchmark publishes names an operation starting with this. */
const EVENT_PREFIX = 'bench:';
const READY_EVENT = `${EVENT_PREFIX}ready`;
/** How long `deliverUntil` waits before publishing again. @default 500 // ms */
const REPUBLISH_MS = 500;

/** Seconds the whole phase may take at most (every wait is bounded); the run's time budget adds it. */
export function subscriptionBudgetSeconds(settings: SubscriptionSettings): number {
  // Start-up, opening at ≥ 50/s, broadcasts, probes, the events with their drain, stop.
  return 90 + settings.count / 50 + BROADCASTS * 30 + 30 + settings.eventSeconds + DRAIN_MS / 1000 + 30;
}

type Usage = { usageLive?: { at?: string; operationName?: string | null; requests?: number; user?: { id?: string } } };

export interface SubscriptionRunHooks {
  log(message: string): void;
  /**
   * Registers what an interrupted run (Ctrl-C, time budget) must do before it exits: here,
   * closing the sockets and stopping the gateway process. Returns its remover.
   */
  addCleanup(cleanup: () => Promise<void>): () => void;
}

export async function measureSubscriptions(
  context: BenchContext,
  settings: SubscriptionSettings,
  { log, addCleanup }: SubscriptionRunHooks,
): Promise<SubscriptionResult> {
  if (!context.redis.url) throw new Error('the subscription benchmark needs the real Redis');
  const budgetS = subscriptionBudgetSeconds(settings);
  // The gateway ends a subscription when its token expires: the token must outlive the phase.
  const userToken = await context.session.accessToken(Math.min(budgetS, 840));
  const publisher = new Redis(context.redis.url, { keyPrefix: context.redis.keyPrefix, lazyConnect: true, maxRetriesPerRequest: 1 });
  publisher.on('error', () => {});
  const clients: Client[] = [];
  let gateway: GatewayProcess | undefined;
  let cleaning: Promise<void> | undefined;
  // Closing the sockets ends their subscriptions at the gateway; then the gateway goes.
  const cleanup = () =>
    (cleaning ??= (async () => {
      await Promise.allSettled(clients.map((client) => client.dispose()));
      await gateway?.stop();
      publisher.disconnect();
    })());
  const removeCleanup = addCleanup(cleanup);
  const failures: SubscriptionResult['failures'] = { errors: 0, ended: 0, unexpected: 0, firstError: null };
  // False once measuring is over: closing the sockets then completes every subscription.
  let measuring = true;
  const fail = (what: string) => {
    if (!measuring) return;
    failures.errors++;
    failures.firstError ??= what;
  };
  try {
    await publisher.connect();
    log('subscriptions: starting a gateway process of its own');
    gateway = await startGatewayProcess({ env: gatewayEnv(context, settings) });
    const wsUrl = gateway.url.replace(/^http/, 'ws');
    const usagePort = Number(new URL(context.subgraphUrls.usage).port);
    const openGauge = async () => metricValue(await gateway!.metrics(), 'lotabots_gateway_open_subscriptions');
    const heapUsed = async () => metricValue(await gateway!.metrics(), 'lotabots_nodejs_heap_size_used_bytes');

    const me = await postGraphQL(gateway.url, { query: '{ me { id } }' }, { authorization: `Bearer ${userToken}` });
    if (me.errors) throw new Error(`the gateway process answered errors: ${JSON.stringify(me.errors)}`);
    expectField(me.data, 'me.id', (v) => v === context.user.id, JSON.stringify(context.user.id));
    await settle();
    const idle = { memory: await gateway.memory(), heap: await heapUsed() };

    // The `count` subscriptions of the seeded user.
    const publish = (userId: string, operationName: string) =>
      publisher.publish(prefixedChannel(publisher, usageLiveChannel(userId)), eventPayload(userId, operationName));
    let broadcast: { tag: string; sentAt: number; times: Float64Array; received: number } | null = null;
    const ready = new Uint8Array(settings.count);
    let readyCount = 0;
    const onUserEvent = (index: number) => (result: FormattedExecutionResult<Usage>) => {
      const now = performance.now();
      const update = result.data?.usageLive;
      if (result.errors || !update) return fail(`error result: ${JSON.stringify(result.errors ?? result)}`);
      const tag = update.operationName ?? '';
      if (!tag.startsWith(EVENT_PREFIX)) return void failures.unexpected++;
      if (update.user?.id !== context.user.id || update.requests !== 1) return fail(`unexpected event data: ${JSON.stringify(update)}`);
      if (tag === READY_EVENT) {
        if (ready[index] === 0) readyCount++;
        ready[index] = 1;
        return;
      }
      if (broadcast && tag === broadcast.tag && broadcast.received < broadcast.times.length) {
        broadcast.times[broadcast.received++] = now - broadcast.sentAt;
      }
    };
    const sink = <T>(next: (result: FormattedExecutionResult<T>) => void) => ({
      next,
      error: (error: unknown) => fail(`subscription error: ${describe(error)}`),
      complete: () => {
        if (measuring) failures.ended++;
      },
    });
    for (let i = 0; i < settings.sockets; i++) clients.push(wsClient(wsUrl, userToken));

    log(`subscriptions: opening ${settings.count} over ${settings.sockets} sockets`);
    const openStart = performance.now();
    let sent = 0;
    while (sent < settings.count) {
      const chunkEnd = Math.min(settings.count, sent + OPEN_CHUNK);
      for (; sent < chunkEnd; sent++) clients[sent % clients.length]!.subscribe<Usage>({ query: USAGE_LIVE }, sink(onUserEvent(sent)));
      await waitFor(async () => (await openGauge()) >= sent, () => failures.errors + failures.ended > 0, `${sent} subscriptions open`);
    }
    const openSeconds = (performance.now() - openStart) / 1000;
    const opened = await openGauge();
    log(`subscriptions: ${opened} open after ${openSeconds.toFixed(1)} s`);
    // The gateway counts a subscription open before its upstream is: the first events may go nowhere.
    await deliverUntil(() => publish(context.user.id, READY_EVENT), () => readyCount === settings.count, 'a first event at every subscription');

    const fanouts: Array<{ first: number; p50: number; p99: number; last: number }> = [];
    let missing = 0;
    for (let k = 1; k <= BROADCASTS; k++) {
      const current = { tag: `${EVENT_PREFIX}b${k}`, sentAt: 0, times: new Float64Array(settings.count), received: 0 };
      broadcast = current;
      current.sentAt = performance.now();
      await publish(context.user.id, current.tag);
      await waitFor(async () => current.received >= settings.count, () => false, `broadcast ${k} at every subscription`).catch((error: unknown) => {
        missing += settings.count - current.received;
        fail(describe(error));
      });
      const times = current.times.slice(0, current.received).sort();
      fanouts.push({
        first: times[0] ?? Number.NaN,
        p50: percentileOfSorted(times, 50),
        p99: percentileOfSorted(times, 99),
        last: times[times.length - 1] ?? Number.NaN,
      });
      log(`subscriptions: broadcast ${k}: ${current.received}/${settings.count} in ${fanouts.at(-1)!.last.toFixed(1)} ms`);
    }
    broadcast = null;
    await settle();
    const open = { memory: await gateway.memory(), heap: await heapUsed() };
    const gatewayToUsageConnections = await gateway.connectionsTo(usagePort);
    const [, redisSubscribers] = (await publisher.pubsub('NUMSUB', prefixedChannel(publisher, usageLiveChannel(context.user.id)))) as [string, number];

    // Latency at `eventRate` events/s over `probes` more subscriptions.
    log(`subscriptions: ${settings.probes} probe subscriptions, then ${settings.eventRate} events/s for ${settings.eventSeconds} s`);
    const issuer = createAccessTokenIssuer(context.keys, 900, () => new Date());
    const total = Math.round(settings.eventRate * settings.eventSeconds);
    const sentAt = new Float64Array(total).fill(Number.NaN);
    const latencies = new Float64Array(total).fill(Number.NaN);
    const probes = await Promise.all(
      Array.from({ length: settings.probes }, async () => {
        const userId = randomUUID();
        const { token } = await issuer.issue({ userId, roles: ['user'], scopes: scopesOfRoles(['user']), plan: 'free', sessionId: randomUUID() });
        return { userId, token, ready: false };
      }),
    );
    for (const probe of probes) {
      const client = wsClient(wsUrl, probe.token);
      clients.push(client);
      client.subscribe<Usage>(
        { query: USAGE_LIVE },
        sink((result) => {
          const now = performance.now();
          const update = result.data?.usageLive;
          if (result.errors || !update) return fail(`error result: ${JSON.stringify(result.errors ?? result)}`);
          const tag = update.operationName ?? '';
          if (!tag.startsWith(EVENT_PREFIX)) return void failures.unexpected++;
          if (update.user?.id !== probe.userId) return fail(`unexpected event data: ${JSON.stringify(update)}`);
          if (tag === READY_EVENT) return void (probe.ready = true);
          const seq = Number(tag.slice(EVENT_PREFIX.length));
          if (Number.isInteger(seq) && seq >= 0 && seq < total && Number.isNaN(latencies[seq]!)) latencies[seq] = now - sentAt[seq]!;
        }),
      );
    }
    const expectedOpen = opened + settings.probes;
    await waitFor(async () => (await openGauge()) >= expectedOpen, () => failures.errors + failures.ended > 0, `${expectedOpen} subscriptions open`);
    // An event at every probe first: proves each is live (upstream included) and warms the per-event path.
    await deliverUntil(
      () => Promise.all(probes.filter((probe) => !probe.ready).map((probe) => publish(probe.userId, READY_EVENT))),
      () => probes.every((probe) => probe.ready),
      'a first event at every probe',
    );

    const start = performance.now();
    let published = 0;
    let lastPublish = start;
    const pending: Array<Promise<unknown>> = [];
    while (published < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * settings.eventRate) + 1);
      if (due > published) {
        const pipeline = publisher.pipeline();
        const now = performance.now();
        for (; published < due; published++) {
          const userId = probes[published % probes.length]!.userId;
          sentAt[published] = now;
          pipeline.publish(prefixedChannel(publisher, usageLiveChannel(userId)), eventPayload(userId, `${EVENT_PREFIX}${published}`));
        }
        lastPublish = now;
        pending.push(pipeline.exec());
      }
      await sleep(PUBLISH_TICK_MS);
    }
    await Promise.all(pending);
    const drainDeadline = performance.now() + DRAIN_MS;
    const receivedCount = () => latencies.reduce((n, v) => (Number.isNaN(v) ? n : n + 1), 0);
    while (receivedCount() < total && performance.now() < drainDeadline) await sleep(20);
    const delivered = latencies.filter((v) => !Number.isNaN(v));
    let lastDelivery = start;
    for (let seq = 0; seq < total; seq++) if (!Number.isNaN(latencies[seq]!)) lastDelivery = Math.max(lastDelivery, sentAt[seq]! + latencies[seq]!);
    const sorted = delivered.sort();
    const end = { memory: await gateway.memory(), heap: await heapUsed() };
    log(`subscriptions: ${delivered.length}/${total} events delivered`);

    const rssPerSubscriptionKB = idle.memory && open.memory ? ((open.memory.rssKiB - idle.memory.rssKiB) * 1.024) / settings.count : Number.NaN;
    return {
      settings: {
        count: settings.count,
        sockets: settings.sockets,
        probes: settings.probes,
        eventRate: settings.eventRate,
        eventSeconds: settings.eventSeconds,
        nodeOptions: settings.nodeOptions,
      },
      opened,
      openSeconds,
      memory: { idle: idle.memory, open: open.memory, end: end.memory },
      heapUsedBytes: { idle: idle.heap, open: open.heap, end: end.heap },
      rssPerSubscriptionKB,
      rssTargetMB: RSS_TARGET_MB,
      withinTarget: opened >= settings.count && open.memory !== null && open.memory.rssKiB * 1024 <= RSS_TARGET_MB * 1e6,
      upstream: { gatewayToUsageConnections, redisSubscribers },
      fanout: {
        broadcasts: BROADCASTS,
        firstMs: medianOf(fanouts.map((f) => f.first)),
        p50Ms: medianOf(fanouts.map((f) => f.p50)),
        p99Ms: medianOf(fanouts.map((f) => f.p99)),
        lastMs: medianOf(fanouts.map((f) => f.last)),
        missing,
      },
      latency: {
        published: total,
        publishSeconds: (lastPublish - start) / 1000,
        received: delivered.length,
        lost: total - delivered.length,
        deliveredPerSec: lastDelivery > start ? delivered.length / ((lastDelivery - start) / 1000) : 0,
        p50Ms: percentileOfSorted(sorted, 50),
        p99Ms: percentileOfSorted(sorted, 99),
        maxMs: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
      },
      failures,
    };
  } finally {
    measuring = false;
    await cleanup();
    removeCleanup();
  }
}

/**
 * The gateway process's settings: the platform's, with limits above what the benchmark
 * opens. Its key prefix is a sub-prefix of the platform's (deleted with it): the gateway
 * meters each subscription start as a usage event published on the caller's live channel,
 * and under the platform's own prefix those `count` events would be delivered to the
 * caller's open `usageLive` subscriptions, about count²/2 deliveries (50 million for 10,000)
 * that have nothing to do with what is measured.
 */
function gatewayEnv(context: BenchContext, settings: SubscriptionSettings): Record<string, string> {
  return {
    ...platformGatewayEnv(context, { keyPrefixSuffix: 'subscription-gateway:', logLevel: settings.logLevel, nodeOptions: settings.nodeOptions }),
    MAX_SUBSCRIPTIONS_PER_PRINCIPAL: String(settings.count),
    MAX_SUBSCRIPTIONS: String(settings.count + settings.probes + 1),
  };
}

function wsClient(url: string, token: string): Client {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: true,
    retryAttempts: 0,
  });
}

function eventPayload(userId: string, operationName: string): string {
  return JSON.stringify({
    userId,
    at: new Date().toISOString(),
    operationName,
    requests: 1,
    tokensIn: 0,
    tokensOut: 0,
    periodTotals: { periodStart: '2026-11-01T00:00:00.000Z', periodEnd: '2026-12-01T00:00:00.000Z', requests: 1, tokensIn: 0, tokensOut: 0 },
  } satisfies LiveUsageUpdate);
}

/**
 * Polls `done` until it holds; fails when `failed` holds or nothing changed for STALL_TIMEOUT_MS.
 */
async function waitFor(done: () => Promise<boolean>, failed: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + STALL_TIMEOUT_MS;
  for (;;) {
    if (await done()) return;
    if (failed()) throw new Error(`waiting for ${what}: the gateway refused or ended subscriptions`);
    if (Date.now() > deadline) throw new Error(`waiting for ${what}: not within ${STALL_TIMEOUT_MS / 1000} s`);
    await sleep(50);
  }
}

/**
 * Publishes (again every REPUBLISH_MS) until `done` holds: pub/sub drops what is published
 * before a subscriber is in place, and the gateway opens its upstream subscription only after
 * it counts the client's subscription open.
 */
async function deliverUntil(publish: () => Promise<unknown>, done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + STALL_TIMEOUT_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`waiting for ${what}: not within ${STALL_TIMEOUT_MS / 1000} s`);
    await publish();
    const republishAt = Date.now() + REPUBLISH_MS;
    while (!done() && Date.now() < republishAt) await sleep(20);
  }
}

/** Lets the gateway finish what it was doing (usage events, GC of start-up garbage) before a reading. */
const settle = () => sleep(1_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The median of the values that are numbers, or NaN when there are none. */
function medianOf(values: number[]): number {
  const numbers = values.filter((v) => !Number.isNaN(v));
  return numbers.length > 0 ? median(numbers) : Number.NaN;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'code' in error) {
    const event = error as { code: unknown; reason?: unknown };
    return `socket closed ${String(event.code)}${event.reason ? ` ${String(event.reason)}` : ''}`;
  }
  return JSON.stringify(error);
}
