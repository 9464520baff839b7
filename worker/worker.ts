import type { Tracer } from '@opentelemetry/api';
import { createServerAdapter } from '@whatwg-node/server';
import type { Registry } from 'prom-client';

import type { Clock } from '../lib/clock.js';
import type { InferenceBus } from '../lib/inference/index.js';
import type { Logger } from '../lib/logger.js';
import { createMetricsRegistry } from '../lib/metrics.js';
import type { Redis } from '../lib/redis.js';
import { createBackend, type InferenceBackend } from './backends/index.js';
import type { WorkerConfig } from './config.js';
import { createJobConsumer } from './consumer.js';
import { createWorkerMetrics } from './metrics.js';
import { createWorkerRegistry } from './registry.js';

export interface WorkerDeps {
  redis: Redis;
  /** The inference bus the subgraph enqueues on (in `npm start` without Redis: the very same object). */
  bus: InferenceBus;
  logger: Logger;
  clock: Clock;
  /** The backend WORKER_BACKEND configures, unless given. */
  backend?: InferenceBackend;
  /** The worker's tracer (lib/tracing `startTracing`); unset: tracing off. */
  tracer?: Tracer | undefined;
}

export interface Worker {
  /** `/health` and `/ready` as a Node request listener (`registry` is served on the metrics port). */
  handler: ReturnType<typeof createServerAdapter>;
  registry: Registry;
  /** Registers in Redis, starts heartbeating and taking jobs. */
  start(): Promise<void>;
  /** Stops taking jobs, lets running ones finish (WORKER_SHUTDOWN_GRACE_MS) and requeues the rest, then deregisters. */
  stop(): Promise<void>;
}

/**
 * The inference worker: runs jobs from the queue on its backend (see worker/README in the
 * root README's Worker section), announces itself (id, backend, models) in Redis and keeps
 * the announcement alive.
 */
export function createWorker(config: WorkerConfig, deps: WorkerDeps): Worker {
  const registry = createMetricsRegistry('worker', { processMetrics: config.NODE_ENV === 'production' });
  const metrics = createWorkerMetrics(registry, () => deps.bus.queue.depth());
  const backend = deps.backend ?? createBackend(config);
  const consumer = createJobConsumer(
    { bus: deps.bus, backend, metrics, logger: deps.logger, clock: deps.clock, workerId: config.WORKER_ID, maxAttempts: config.WORKER_MAX_ATTEMPTS, tracer: deps.tracer },
    { concurrency: config.WORKER_CONCURRENCY, reclaimIdleMs: config.WORKER_RECLAIM_IDLE_MS, shutdownGraceMs: config.WORKER_SHUTDOWN_GRACE_MS },
  );
  const workers = createWorkerRegistry(deps.redis, deps.clock);
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  const handler = createServerAdapter(async (request: Request) => {
    const { pathname } = new URL(request.url);
    if (pathname === '/health') return Response.json({ status: 'ok' });
    if (pathname === '/ready') {
      const ready = running && (await deps.redis.ping().then(() => true, () => false));
      return new Response(ready ? 'ready' : 'not ready', { status: ready ? 200 : 503 });
    }
    return new Response('not found', { status: 404 });
  });
  return {
    handler,
    registry,
    async start() {
      const registration = await workers.register({ id: config.WORKER_ID, backends: [backend.name], models: [...backend.models] }, config.WORKER_HEARTBEAT_MS);
      running = true;
      metrics.registered.set(1);
      timer = setInterval(() => {
        workers.heartbeat(registration, config.WORKER_HEARTBEAT_MS).catch((error: unknown) => {
          deps.logger.warn({ err: error }, 'worker heartbeat failed');
        });
      }, config.WORKER_HEARTBEAT_MS);
      timer.unref();
      consumer.start();
      deps.logger.info({ workerId: config.WORKER_ID, backend: backend.name, models: backend.models, concurrency: config.WORKER_CONCURRENCY }, 'worker registered');
    },
    async stop() {
      running = false;
      await consumer.stop();
      clearInterval(timer);
      metrics.registered.set(0);
      await workers.deregister(config.WORKER_ID);
    },
  };
}
