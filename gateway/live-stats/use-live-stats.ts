import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';

import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { Counter, Gauge, type Registry } from 'prom-client';

import type { Clock } from '../../lib/clock.js';
import { type GatewayMetricsSnapshot, removeGatewayMetrics, writeGatewayMetrics } from '../../lib/live/gateway-metrics.js';
import { createStatsWindow } from '../../lib/live/stats-window.js';
import type { Logger } from '../../lib/logger.js';
import { METRIC_NAMESPACE } from '../../lib/metrics.js';
import type { Redis } from '../../lib/redis.js';
import { throttledWarning } from '../../lib/throttled-warning.js';

export interface LiveStatsOptions {
  redis: Redis;
  clock: Clock;
  logger: Logger;
  /** The gateway's registry, for the open-subscriptions gauge and publish failures. */
  registry: Registry;
  /**
   * Subscriptions open at this instance, as the subscription executor counts them (this
   * plugin does not wrap every stream to count them again: at 10,000 open that costs memory).
   */
  openSubscriptions: () => number;
  /** This instance's id in `metrics:gateways`. @default `<hostname>-<pid>-<random>` (unique per gateway, pod names included). */
  instanceId?: string;
  /** @default 10 // s of operations the figures cover. */
  windowSeconds?: number;
  /** @default 1_000 // ms between two snapshots written to Redis (they expire after 10 s). */
  publishIntervalMs?: number;
}

export type LiveStatsPlugin = Plugin & {
  instanceId: string;
  /** The figures the next snapshot would carry. */
  snapshot(): GatewayMetricsSnapshot;
  /** Starts publishing (idempotent); the plugin calls it when Yoga starts. */
  start(): void;
  /** Stops publishing and takes this instance out of the figures; the plugin calls it on Yoga dispose. */
  stop(): Promise<void>;
};

/**
 * This gateway's live figures for the `platformMetrics` subscription: a sliding window of
 * operations (rate, error rate, p95 latency) plus open subscriptions, written every second
 * to the hash `metrics:gateway:<instanceId>` (expiring after 10 s, so a dead gateway drops
 * out) and registered in the set `metrics:gateways`.
 *
 * An operation is a query or mutation that executed (latency: execution, which is planning
 * and subgraph fetches), a subscription start (no latency sample), or a document that failed
 * to parse or validate (an error, no latency sample). It failed when its result carries errors.
 * Rates, errors and latencies are in Prometheus already (`lotabots_graphql_*`); this adds the
 * `lotabots_gateway_open_subscriptions` gauge.
 */
export function useLiveStats(options: LiveStatsOptions): LiveStatsPlugin {
  const { redis, clock, logger } = options;
  const instanceId = options.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const notWritten = throttledWarning(logger.child({ instanceId }), 'live gateway figures not written');
  const window = createStatsWindow({ now: () => clock.now().getTime(), windowSeconds: options.windowSeconds });
  const { openSubscriptions } = options;
  new Gauge({
    name: `${METRIC_NAMESPACE}_gateway_open_subscriptions`,
    help: 'Subscriptions open at this gateway instance.',
    registers: [options.registry],
    collect() {
      this.set(openSubscriptions());
    },
  });
  const publishFailures = new Counter({
    name: `${METRIC_NAMESPACE}_gateway_live_stats_write_failures_total`,
    help: 'Live-figure snapshots this gateway could not write to Redis (platformMetrics misses it meanwhile).',
    registers: [options.registry],
  });

  let timer: NodeJS.Timeout | undefined;
  let writing = false;
  const snapshot = (): GatewayMetricsSnapshot => ({ at: clock.now(), ...window.figures(), openSubscriptions: openSubscriptions() });
  const publish = async () => {
    // A write still pending (slow Redis) makes this tick redundant.
    if (writing) return;
    writing = true;
    try {
      await writeGatewayMetrics(redis, instanceId, snapshot());
    } catch (error) {
      publishFailures.inc();
      notWritten(error);
    } finally {
      writing = false;
    }
  };
  const start = () => {
    if (timer) return;
    void publish();
    timer = setInterval(() => void publish(), options.publishIntervalMs ?? 1_000);
    timer.unref();
  };
  const stop = async () => {
    if (!timer) return;
    clearInterval(timer);
    timer = undefined;
    await removeGatewayMetrics(redis, instanceId).catch((error: unknown) => logger.warn({ err: error }, 'live gateway figures not removed'));
  };

  return {
    instanceId,
    snapshot,
    start,
    stop,
    onYogaInit() {
      start();
    },
    onDispose: stop,
    onParse() {
      return ({ result }) => {
        if (result instanceof Error) window.record(true, null);
      };
    },
    onValidate() {
      return ({ valid }) => {
        if (!valid) window.record(true, null);
      };
    },
    onExecute() {
      const startedAt = performance.now();
      return {
        onExecuteDone({ result }) {
          window.record(hasErrors(result), performance.now() - startedAt);
        },
      };
    },
    onSubscribe() {
      return {
        onSubscribeResult({ result }) {
          window.record(hasErrors(result), null);
        },
      };
    },
  };
}

function hasErrors(result: unknown): boolean {
  return !isAsyncIterable(result) && ((result as ExecutionResult).errors?.length ?? 0) > 0;
}
