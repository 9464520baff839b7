import { createServerAdapter } from '@whatwg-node/server';
import { Gauge, type Registry } from 'prom-client';

import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { createMetricsRegistry, METRIC_NAMESPACE } from '../lib/metrics.js';
import type { Redis } from '../lib/redis.js';
import type { WorkerConfig } from './config.js';
import { createWorkerRegistry } from './registry.js';

export interface WorkerDeps {
  redis: Redis;
  logger: Logger;
  clock: Clock;
}

/** The models this worker can serve without any outside server. */
export const BUILT_IN_MODELS = ['lotabots-tiny-cpu'];

export interface Worker {
  /** `/health` and `/ready` as a Node request listener (`registry` is served on the metrics port). */
  handler: ReturnType<typeof createServerAdapter>;
  registry: Registry;
  /** Registers in Redis and starts heartbeating. */
  start(): Promise<void>;
  /** Stops heartbeating and deregisters. */
  stop(): Promise<void>;
}

/**
 * The inference worker. At this stage it announces itself (id, backends, models) in Redis
 * and keeps the announcement alive; consuming the job queue comes with the inference work.
 */
export function createWorker(config: WorkerConfig, deps: WorkerDeps): Worker {
  const registry = createMetricsRegistry('worker', { processMetrics: config.NODE_ENV === 'production' });
  const registered = new Gauge({
    name: `${METRIC_NAMESPACE}_worker_registered`,
    help: '1 while this worker is registered in Redis and heartbeating.',
    registers: [registry],
  });
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
      const registration = await workers.register({ id: config.WORKER_ID, backends: ['cpu'], models: BUILT_IN_MODELS }, config.WORKER_HEARTBEAT_MS);
      running = true;
      registered.set(1);
      timer = setInterval(() => {
        workers.heartbeat(registration, config.WORKER_HEARTBEAT_MS).catch((error: unknown) => {
          deps.logger.warn({ err: error }, 'worker heartbeat failed');
        });
      }, config.WORKER_HEARTBEAT_MS);
      timer.unref();
      deps.logger.info({ workerId: config.WORKER_ID }, 'worker registered');
    },
    async stop() {
      clearInterval(timer);
      running = false;
      registered.set(0);
      await workers.deregister(config.WORKER_ID);
    },
  };
}
