import { Counter, Gauge, Histogram, type Metric, type Registry } from 'prom-client';

import { METRIC_NAMESPACE } from '../../../lib/metrics.js';

/** Jobs reaching each state: `queued` at submission, the others when the lifecycle consumer applies them. */
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/**
 * The inference subgraph's metrics, in the subgraph's own registry. Queue depth and live
 * workers are read from Redis when Prometheus scrapes (`collect`), so every replica reports
 * the same platform-wide figure; job counts and histograms are what this replica did.
 * Built before the subgraph (its resolvers count), registered in its registry once it exists.
 */
export function createInferenceMetrics(readings: { queueDepth(): Promise<number>; liveWorkers(): Promise<number> }) {
  const jobs = new Counter({
    name: `${METRIC_NAMESPACE}_inference_jobs_total`,
    help: 'Inference jobs that reached each state (queued at submission; running, succeeded, failed, cancelled as the lifecycle consumer applies them).',
    labelNames: ['state'],
    registers: [],
  });
  const cacheHits = new Counter({
    name: `${METRIC_NAMESPACE}_inference_cache_hits_total`,
    help: 'Submissions answered from the response cache.',
    registers: [],
  });
  const refusals = new Counter({
    name: `${METRIC_NAMESPACE}_inference_submissions_refused_total`,
    help: 'Submissions refused before queueing, by error code.',
    labelNames: ['code'],
    registers: [],
  });
  const timeToFirstToken = new Histogram({
    name: `${METRIC_NAMESPACE}_inference_time_to_first_token_seconds`,
    help: 'Time from a job starting on a worker to its first token (completed jobs, cache hits excluded).',
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [],
  });
  const tokensPerSecond = new Histogram({
    name: `${METRIC_NAMESPACE}_inference_tokens_per_second`,
    help: 'Generation speed of completed jobs (cache hits excluded).',
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000],
    registers: [],
  });
  const queueDepth = new Gauge({
    name: `${METRIC_NAMESPACE}_inference_queue_depth`,
    help: 'Jobs waiting in the queue for a worker, over every priority (read from Redis at scrape).',
    registers: [],
    async collect() {
      this.set(await readings.queueDepth());
    },
  });
  const liveWorkers = new Gauge({
    name: `${METRIC_NAMESPACE}_inference_live_workers`,
    help: 'Workers whose heartbeat is current (read from Redis at scrape).',
    registers: [],
    async collect() {
      this.set(await readings.liveWorkers());
    },
  });
  const all: Metric[] = [jobs, cacheHits, refusals, timeToFirstToken, tokensPerSecond, queueDepth, liveWorkers];
  return {
    register: (registry: Registry) => all.forEach((metric) => registry.registerMetric(metric)),
    jobReached: (state: JobState) => jobs.inc({ state }),
    cacheHit: () => cacheHits.inc(),
    refused: (code: string) => refusals.inc({ code }),
    completed(timeToFirstTokenMs: number, tokensPerSecondValue: number) {
      timeToFirstToken.observe(timeToFirstTokenMs / 1000);
      tokensPerSecond.observe(tokensPerSecondValue);
    },
  };
}

export type InferenceMetrics = ReturnType<typeof createInferenceMetrics>;
