import { Gauge, type Metric, type Registry } from 'prom-client';

import type { Clock } from '../../../../lib/clock.js';
import { readGatewayMetrics } from '../../../../lib/live/gateway-metrics.js';
import { JOBS_ENQUEUED_COUNTER } from '../../../../lib/live/keys.js';
import type { Logger } from '../../../../lib/logger.js';
import { METRIC_NAMESPACE } from '../../../../lib/metrics.js';
import type { Redis } from '../../../../lib/redis.js';
import type { UsageConfig } from '../../config.js';
import { combineGateways } from '../platform-metrics.js';
import { createScalingAdvisor, type ScalingAdvice, type ScalingParameters, type ScalingSample } from './advisor.js';

/** The usage subgraph's settings of the scaling advice. */
export type ScalingSettings = Pick<UsageConfig, Extract<keyof UsageConfig, `SCALING_${string}`>>;

export function scalingParametersOf(settings: ScalingSettings): ScalingParameters {
  return {
    horizonSeconds: settings.SCALING_HORIZON_SECONDS,
    smoothing: { alpha: settings.SCALING_LEVEL_SMOOTHING, beta: settings.SCALING_TREND_SMOOTHING },
    jobServiceSeconds: settings.SCALING_JOB_SERVICE_SECONDS,
    workerConcurrency: settings.SCALING_WORKER_CONCURRENCY,
    backlogDrainSeconds: settings.SCALING_BACKLOG_DRAIN_SECONDS,
    minWorkers: settings.SCALING_MIN_WORKERS,
    maxWorkers: settings.SCALING_MAX_WORKERS,
    gatewayRequestsPerReplica: settings.SCALING_GATEWAY_REQUESTS_PER_REPLICA,
    minGatewayReplicas: settings.SCALING_MIN_GATEWAY_REPLICAS,
    maxGatewayReplicas: settings.SCALING_MAX_GATEWAY_REPLICAS,
    scaleDownDelaySeconds: settings.SCALING_SCALE_DOWN_DELAY_SECONDS,
  };
}

/** The scaling advice as Prometheus gauges: what the worker and gateway autoscalers read (k8s/README.md). */
function createScalingGauges() {
  const gauge = (suffix: string, help: string) => new Gauge({ name: `${METRIC_NAMESPACE}_scaling_${suffix}`, help, registers: [] });
  return {
    desiredWorkers: gauge('desired_workers', 'Inference workers the forecast job load and the backlog need at the horizon (scale-down held for the delay).'),
    desiredGatewayReplicas: gauge('desired_gateway_replicas', 'Gateway replicas the forecast request rate needs at the horizon (scale-down held for the delay).'),
    forecastJobs: gauge('forecast_job_arrivals_per_second', 'Inference jobs expected to arrive per second at the horizon (Holt forecast).'),
    forecastRequests: gauge('forecast_gateway_requests_per_second', 'Gateway operations expected per second at the horizon (Holt forecast).'),
    horizon: gauge('horizon_seconds', 'How far ahead the scaling advice looks.'),
  };
}

export interface ScalingSamplerDeps {
  redis: Redis;
  clock: Clock;
  logger: Logger;
  /** Jobs waiting for a worker. */
  queueDepth: () => Promise<number>;
  settings: ScalingSettings;
}

/**
 * Feeds a scaling advisor from the live figures: the queue's depth, the enqueued-jobs counter and
 * the gateways' request rates, every `intervalMs` from `start()` until `stop()`, and
 * publishes each advice in the gauges. A reading that fails (Redis away) is logged and
 * skipped: the gauges keep the last advice, which is what an autoscaler should act on
 * meanwhile. Every replica samples the same Redis figures, so replicas agree to within a
 * sample; the adapter rule takes the highest.
 */
export function createScalingSampler(deps: ScalingSamplerDeps) {
  const advisor = createScalingAdvisor(scalingParametersOf(deps.settings));
  const gauges = createScalingGauges();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  const read = async (): Promise<ScalingSample> => {
    const [queueDepth, enqueued, gateways] = await Promise.all([deps.queueDepth(), deps.redis.get(JOBS_ENQUEUED_COUNTER), readGatewayMetrics(deps.redis)]);
    return {
      at: deps.clock.now(),
      queueDepth,
      jobsEnqueuedTotal: Number(enqueued ?? 0) || 0,
      gatewayRequestsPerSecond: combineGateways(gateways.values()).requestsPerSecond,
    };
  };

  const publish = (advice: ScalingAdvice) => {
    gauges.desiredWorkers.set(advice.desiredWorkers);
    gauges.desiredGatewayReplicas.set(advice.desiredGatewayReplicas);
    gauges.forecastJobs.set(advice.forecastJobsPerSecond);
    gauges.forecastRequests.set(advice.forecastRequestsPerSecond);
    gauges.horizon.set(advice.horizonSeconds);
  };

  const sample = async () => {
    try {
      publish(advisor.observe(await read()));
    } catch (error) {
      deps.logger.warn({ err: error }, 'scaling advice sample failed');
    }
  };

  return {
    /** The latest advice; null before the first sample. */
    latest: () => advisor.latest(),
    register: (registry: Registry) => Object.values(gauges).forEach((metric: Metric) => registry.registerMetric(metric)),
    /** Samples at once, then every interval. */
    start() {
      const tick = () => {
        running = sample();
        void running.then(() => {
          if (!stopped) timer = setTimeout(tick, deps.settings.SCALING_SAMPLE_INTERVAL_MS).unref();
        });
      };
      timer = setTimeout(tick, 0).unref();
    },
    /** Stops sampling; a sample under way finishes first (it uses the connections closed next). */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export type ScalingSampler = ReturnType<typeof createScalingSampler>;
