import { holtForecast, holtObserve, type HoltSmoothing, type HoltState } from './holt.js';

/** The advisor's parameters (SCALING_* settings; the README's "Predictive scaling" says why each default). */
export interface ScalingParameters {
  /** How far ahead the advice looks: about the time a new worker or gateway pod takes to serve. */
  horizonSeconds: number;
  /** Holt's smoothing of the job arrival rate and of the gateways' request rate. */
  smoothing: HoltSmoothing;
  /** Mean time one job holds a worker slot, queue wait excluded. */
  jobServiceSeconds: number;
  /** Jobs one worker runs at once (the workers' WORKER_CONCURRENCY). */
  workerConcurrency: number;
  /** The backlog (jobs waiting) should be worked off within this, on top of the arriving load. */
  backlogDrainSeconds: number;
  minWorkers: number;
  maxWorkers: number;
  /** Operations per second one gateway replica serves comfortably. */
  gatewayRequestsPerReplica: number;
  minGatewayReplicas: number;
  maxGatewayReplicas: number;
  /** A lower recommendation takes effect only once every recommendation of this long was that low. */
  scaleDownDelaySeconds: number;
}

/** One reading of the platform's load. */
export interface ScalingSample {
  at: Date;
  /** Jobs waiting for a worker. */
  queueDepth: number;
  /** Jobs ever enqueued (a counter; its growth between samples is the arrival rate). */
  jobsEnqueuedTotal: number;
  /** Operations per second over the gateways' recent window, summed over the gateways. */
  gatewayRequestsPerSecond: number;
}

export interface ScalingAdvice {
  at: Date;
  desiredWorkers: number;
  desiredGatewayReplicas: number;
  horizonSeconds: number;
  /** Forecast job arrivals per second at the horizon. */
  forecastJobsPerSecond: number;
  /** Forecast gateway operations per second at the horizon. */
  forecastRequestsPerSecond: number;
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));

/**
 * Workers for the forecast load plus the backlog: by Little's law, `rate × service time`
 * slots are busy on average; draining `backlog` jobs within the drain target adds
 * `backlog / drain × service time` busy slots. Slots over the per-worker concurrency,
 * rounded up, clamped.
 */
export function workersFor(forecastJobsPerSecond: number, queueDepth: number, parameters: ScalingParameters): number {
  const busySlots = (forecastJobsPerSecond + queueDepth / parameters.backlogDrainSeconds) * parameters.jobServiceSeconds;
  return clamp(Math.ceil(busySlots / parameters.workerConcurrency), parameters.minWorkers, parameters.maxWorkers);
}

/** Gateway replicas for the forecast request rate, rounded up, clamped. */
export function gatewayReplicasFor(forecastRequestsPerSecond: number, parameters: ScalingParameters): number {
  return clamp(Math.ceil(forecastRequestsPerSecond / parameters.gatewayRequestsPerReplica), parameters.minGatewayReplicas, parameters.maxGatewayReplicas);
}

/**
 * Turns a series of load samples into scaling advice. Deterministic and free of I/O and
 * clocks: time is the samples' `at`, so a test replays a series and gets the same advice.
 *
 * Each sample updates Holt's smoothing of the job arrival rate (the counter's growth since
 * the previous sample; a counter that went down was reset and gives no rate) and of the
 * gateways' request rate, and forecasts both at the horizon. Scale-up follows at once (a
 * rising trend raises the advice before the queue grows); scale-down waits: the advice is
 * the highest recommendation of the last `scaleDownDelaySeconds`, so a dip shorter than that
 * does not shed capacity that a pod start-up would have to rebuild.
 */
export function createScalingAdvisor(parameters: ScalingParameters) {
  let arrivals: HoltState | null = null;
  let requests: HoltState | null = null;
  let previous: { total: number; atMs: number } | null = null;
  let recent: Array<{ atMs: number; workers: number; gatewayReplicas: number }> = [];
  let latest: ScalingAdvice | null = null;

  return {
    observe(sample: ScalingSample): ScalingAdvice {
      const atMs = sample.at.getTime();
      if (previous && atMs > previous.atMs && sample.jobsEnqueuedTotal >= previous.total) {
        const rate = (sample.jobsEnqueuedTotal - previous.total) / ((atMs - previous.atMs) / 1000);
        arrivals = holtObserve(arrivals, rate, atMs, parameters.smoothing);
      }
      if (!previous || atMs > previous.atMs) previous = { total: sample.jobsEnqueuedTotal, atMs };
      requests = holtObserve(requests, sample.gatewayRequestsPerSecond, atMs, parameters.smoothing);

      const forecastJobsPerSecond = holtForecast(arrivals, parameters.horizonSeconds);
      const forecastRequestsPerSecond = holtForecast(requests, parameters.horizonSeconds);
      recent = recent.filter((entry) => entry.atMs >= atMs - parameters.scaleDownDelaySeconds * 1000 && entry.atMs <= atMs);
      recent.push({
        atMs,
        workers: workersFor(forecastJobsPerSecond, sample.queueDepth, parameters),
        gatewayReplicas: gatewayReplicasFor(forecastRequestsPerSecond, parameters),
      });
      latest = {
        at: sample.at,
        desiredWorkers: Math.max(...recent.map((entry) => entry.workers)),
        desiredGatewayReplicas: Math.max(...recent.map((entry) => entry.gatewayReplicas)),
        horizonSeconds: parameters.horizonSeconds,
        forecastJobsPerSecond,
        forecastRequestsPerSecond,
      };
      return latest;
    },
    /** The advice of the latest sample; null before the first. */
    latest(): ScalingAdvice | null {
      return latest;
    },
  };
}

export type ScalingAdvisor = ReturnType<typeof createScalingAdvisor>;
