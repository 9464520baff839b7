import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Delivery } from '../lib/inference/index.js';
import { throttledWarning } from '../lib/throttled-warning.js';
import { type JobRunnerDeps, runJob } from './job-runner.js';

export interface ConsumerSettings {
  concurrency: number;
  /** A job held this long without a keep-alive is a dead worker's and is taken over. */
  reclaimIdleMs: number;
  /** Time running jobs get to finish after `stop()`; the rest are requeued. */
  shutdownGraceMs: number;
}

export interface JobConsumer {
  start(): void;
  /** Stops taking jobs, lets running ones finish within the grace time, requeues the rest. */
  stop(): Promise<void>;
  readonly running: number;
}

/**
 * @default 1_000 // ms one take waits for a job before checking whether to stop: bounds how
 * long `stop()` waits for the taking loop.
 */
const TAKE_BLOCK_MS = 1_000;

/** @default 1_000 // ms before trying again when Redis refused a take. */
const RETRY_MS = 1_000;

/**
 * Takes jobs from the queue into `concurrency` slots and runs each with `runJob`. Every half
 * reclaim interval it also takes over jobs idle for `reclaimIdleMs` (a dead worker's), as
 * many as it has free slots.
 */
export function createJobConsumer(deps: Omit<JobRunnerDeps, 'keepAliveMs'>, settings: ConsumerSettings): JobConsumer {
  const runnerDeps: JobRunnerDeps = { ...deps, keepAliveMs: Math.max(1, Math.floor(settings.reclaimIdleMs / 3)) };
  const running = new Map<string, Promise<void>>();
  const shutdown = new AbortController();
  // Every running job listens for the shutdown: up to WORKER_CONCURRENCY listeners, not a leak.
  setMaxListeners(0, shutdown.signal);
  let stopping = false;
  let slotFreed: (() => void) | null = null;
  let loop: Promise<void> | null = null;
  let reclaimTimer: NodeJS.Timeout | undefined;
  const warnTake = throttledWarning(deps.logger, 'worker: taking jobs from the queue failed');
  const warnReclaim = throttledWarning(deps.logger, 'worker: reclaiming idle jobs failed');

  const launch = (delivery: Delivery) => {
    deps.metrics.inFlight.inc();
    const run = runJob(delivery, runnerDeps, shutdown.signal)
      .then(
        (outcome) => deps.metrics.jobs.inc({ outcome }),
        (error: unknown) => deps.logger.error({ err: error, jobId: delivery.job.jobId }, 'worker: job interrupted; it will be taken over once idle'),
      )
      .finally(() => {
        running.delete(delivery.id);
        deps.metrics.inFlight.dec();
        slotFreed?.();
      });
    running.set(delivery.id, run);
  };

  const takeLoop = async () => {
    while (!stopping) {
      if (running.size >= settings.concurrency) {
        await new Promise<void>((resolve) => (slotFreed = resolve));
        slotFreed = null;
        continue;
      }
      try {
        const delivery = await deps.bus.queue.take(deps.workerId, { blockMs: TAKE_BLOCK_MS });
        if (delivery) launch(delivery);
      } catch (error) {
        warnTake(error);
        if (!stopping) await sleep(RETRY_MS);
      }
    }
  };

  const reclaim = async () => {
    const free = settings.concurrency - running.size;
    if (stopping || free <= 0) return;
    const deliveries = await deps.bus.queue.reclaim(deps.workerId, settings.reclaimIdleMs, free);
    for (const delivery of deliveries) {
      deps.logger.info({ jobId: delivery.job.jobId }, 'worker: took over an idle job');
      launch(delivery);
    }
  };

  return {
    get running() {
      return running.size;
    },
    start() {
      loop = takeLoop();
      reclaimTimer = setInterval(() => void reclaim().catch(warnReclaim), Math.max(1, Math.floor(settings.reclaimIdleMs / 2)));
      void reclaim().catch(warnReclaim);
    },
    async stop() {
      stopping = true;
      clearInterval(reclaimTimer);
      slotFreed?.();
      const grace = new AbortController();
      await Promise.race([Promise.allSettled(running.values()), sleep(settings.shutdownGraceMs, undefined, { signal: grace.signal }).catch(() => {})]);
      grace.abort();
      shutdown.abort();
      await Promise.allSettled(running.values());
      // A take still in flight may deliver one more job: it is requeued at once (shutdown has aborted).
      await loop;
      await Promise.allSettled(running.values());
    },
  };
}
