import { performance } from 'node:perf_hooks';

import type { Clock } from '../../../lib/clock.js';
import { createEventQueue, type EventQueue } from '../../../lib/live/event-queue.js';
import { type GatewayMetricsSnapshot, readGatewayMetrics } from '../../../lib/live/gateway-metrics.js';
import { TOKENS_OUT_COUNTER } from '../../../lib/live/keys.js';
import type { Logger } from '../../../lib/logger.js';
import type { Redis } from '../../../lib/redis.js';
import type { ScalingAdvice } from './scaling/advisor.js';

/** What `platformMetrics` emits: the parent value of `PlatformMetrics`. */
export interface PlatformFigures {
  at: Date;
  requestsPerSecond: number;
  errorRate: number;
  p95LatencyMs: number;
  openSubscriptions: number;
  queueDepth: number;
  tokensPerSecond: number;
  /** The latest scaling advice of this replica; null before its first sample. */
  scaling: ScalingAdvice | null;
}

/** Intervals `platformMetrics(intervalSeconds)` accepts. */
export const PLATFORM_METRICS_INTERVAL_SECONDS = { min: 1, max: 60 } as const;

/**
 * The gateways' figures combined: rates and open subscriptions add up, the error rate is
 * weighted by each gateway's traffic, and p95 is the worst gateway's (percentiles do not
 * add up; the maximum bounds the platform-wide p95 from above).
 */
export function combineGateways(snapshots: Iterable<GatewayMetricsSnapshot>) {
  let requestsPerSecond = 0;
  let errorsPerSecond = 0;
  let p95LatencyMs = 0;
  let openSubscriptions = 0;
  for (const snapshot of snapshots) {
    requestsPerSecond += snapshot.requestsPerSecond;
    errorsPerSecond += snapshot.errorRate * snapshot.requestsPerSecond;
    p95LatencyMs = Math.max(p95LatencyMs, snapshot.p95LatencyMs);
    openSubscriptions += snapshot.openSubscriptions;
  }
  return { requestsPerSecond, errorRate: requestsPerSecond > 0 ? errorsPerSecond / requestsPerSecond : 0, p95LatencyMs, openSubscriptions };
}

/** Where the figures come from: Redis, the inference bus's queue depth (jobs waiting for a worker) and the scaling advisor. */
export interface PlatformSources {
  redis: Redis;
  clock: Clock;
  queueDepth: () => Promise<number>;
  scaling: () => ScalingAdvice | null;
}

/**
 * Reads the platform's figures from Redis. Stateful: tokens per second is the growth of the
 * workers' output-token counter since this sampler's previous reading, over the time between
 * the two, so each subscription gets its own sampler (0 on its first reading).
 */
export function createPlatformSampler(deps: PlatformSources) {
  let previous: { tokens: number; atMs: number } | null = null;
  return async function sample(): Promise<PlatformFigures> {
    const [gateways, queueDepth, tokensOut] = await Promise.all([readGatewayMetrics(deps.redis), deps.queueDepth(), deps.redis.get(TOKENS_OUT_COUNTER)]);
    const at = deps.clock.now();
    const tokens = Number(tokensOut ?? 0) || 0;
    let tokensPerSecond = 0;
    if (previous) {
      const seconds = (at.getTime() - previous.atMs) / 1000;
      // A counter that went down was reset; that reading gives no rate.
      if (seconds > 0 && tokens >= previous.tokens) tokensPerSecond = (tokens - previous.tokens) / seconds;
    }
    previous = { tokens, atMs: at.getTime() };
    return { at, ...combineGateways(gateways.values()), queueDepth, tokensPerSecond, scaling: deps.scaling() };
  };
}

/**
 * `platformMetrics` feeds: each emits figures at once and then every interval, until its
 * consumer ends it (the subscription is cancelled) or the feed closes (shutdown). A reading
 * that fails (Redis unreachable) is logged and skipped; the next tick tries again. A slow
 * consumer gets the latest figures, never a backlog.
 */
export function createPlatformMetricsFeed(deps: PlatformSources & { logger: Logger }) {
  const open = new Set<EventQueue<PlatformFigures>>();
  return {
    subscribe(intervalSeconds: number): AsyncIterableIterator<PlatformFigures> {
      const intervalMs = intervalSeconds * 1000;
      const sample = createPlatformSampler(deps);
      let timer: NodeJS.Timeout | undefined;
      const queue = createEventQueue<PlatformFigures>({
        maxBuffered: 1,
        onEnd: () => {
          clearTimeout(timer);
          open.delete(queue);
        },
      });
      open.add(queue);
      // Ticks keep to a fixed schedule (start + n × interval), whatever each reading takes.
      const startedAt = performance.now();
      let ticks = 0;
      const tick = async () => {
        try {
          const figures = await sample();
          queue.push(figures);
        } catch (error) {
          deps.logger.warn({ err: error }, 'platform metrics reading failed');
        }
        if (queue.ended) return;
        // A reading that overran whole intervals skips them rather than catching up in a burst.
        const now = performance.now();
        ticks = Math.max(ticks + 1, Math.floor((now - startedAt) / intervalMs) + 1);
        timer = setTimeout(tick, startedAt + ticks * intervalMs - now);
        timer.unref();
      };
      void tick();
      return queue;
    },
    /** Open feeds (for tests and shutdown). */
    get openCount() {
      return open.size;
    },
    close() {
      for (const queue of [...open]) queue.end();
    },
  };
}

export type PlatformMetricsFeed = ReturnType<typeof createPlatformMetricsFeed>;
