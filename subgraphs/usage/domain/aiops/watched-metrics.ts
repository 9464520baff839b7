import type { PlatformFigures } from '../platform-metrics.js';

/** The live figures the detector watches: the GraphQL `AlertMetric`, the figure it reads, and how people read it. */
export const WATCHED_METRICS = {
  ERROR_RATE: { figure: 'errorRate', label: 'Error rate', format: (value: number) => `${(value * 100).toFixed(2)} %` },
  P95_LATENCY: { figure: 'p95LatencyMs', label: 'p95 latency', format: (value: number) => `${value.toFixed(0)} ms` },
  QUEUE_DEPTH: { figure: 'queueDepth', label: 'Inference queue depth', format: (value: number) => `${value.toFixed(0)} jobs` },
  TOKENS_PER_SECOND: { figure: 'tokensPerSecond', label: 'Tokens per second', format: (value: number) => `${value.toFixed(1)} tok/s` },
  OPEN_SUBSCRIPTIONS: { figure: 'openSubscriptions', label: 'Open subscriptions', format: (value: number) => value.toFixed(0) },
} as const satisfies Record<string, { figure: keyof PlatformFigures; label: string; format: (value: number) => string }>;

export type WatchedMetric = keyof typeof WATCHED_METRICS;

export const WATCHED_METRIC_NAMES = Object.keys(WATCHED_METRICS) as WatchedMetric[];

export const isWatchedMetric = (name: string): name is WatchedMetric => Object.hasOwn(WATCHED_METRICS, name);
