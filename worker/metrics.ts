import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

import { METRIC_NAMESPACE } from '../lib/metrics.js';

/**
 * How a job left this worker: its terminal event (completed, failed, cancelled), `requeued`
 * at shutdown, `lost` (another worker took it over meanwhile), `skipped` (already finished
 * when taken). A fixed set, so the label stays bounded.
 */
export type JobOutcome = 'completed' | 'failed' | 'cancelled' | 'requeued' | 'lost' | 'skipped';

/**
 * The worker's inference metrics, on the worker's own registry. `queueDepth` is read from
 * the bus at each scrape: the figure the GPU overlay's HorizontalPodAutoscaler scales on.
 */
export function createWorkerMetrics(registry: Registry, queueDepth: () => Promise<number>) {
  const name = (suffix: string) => `${METRIC_NAMESPACE}_worker_${suffix}`;
  return {
    registered: new Gauge({ name: name('registered'), help: '1 while this worker is registered in Redis and heartbeating.', registers: [registry] }),
    jobs: new Counter({
      name: name('jobs_total'),
      help: 'Jobs this worker finished handling, by outcome (completed, failed, cancelled, requeued, lost, skipped).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    inFlight: new Gauge({ name: name('jobs_in_flight'), help: 'Jobs this worker is running now.', registers: [registry] }),
    timeToFirstToken: new Histogram({
      name: name('time_to_first_token_seconds'),
      help: 'From the start of a job on this worker to its first token (backend connect and prompt processing).',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    tokensPerSecond: new Histogram({
      name: name('tokens_per_second'),
      help: 'Completion tokens per second of each completed job, from its start on this worker.',
      buckets: [1, 5, 10, 20, 50, 100, 200, 500, 1_000, 5_000],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: `${METRIC_NAMESPACE}_inference_queue_depth`,
      help: 'Inference jobs waiting in the queue, not yet taken by any worker (the same figure on every worker).',
      registers: [registry],
      async collect() {
        // Redis away: the last figure stays, and the scrape still serves every other metric.
        await queueDepth().then((depth) => this.set(depth), () => {});
      },
    }),
    backendErrors: new Counter({
      name: name('backend_errors_total'),
      help: 'Jobs failed by the backend, by code (BACKEND_ERROR, BACKEND_TIMEOUT).',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
