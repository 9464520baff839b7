import { Counter, Gauge, type Registry } from 'prom-client';

import type { Clock } from '../../../../lib/clock.js';
import type { Logger } from '../../../../lib/logger.js';
import { METRIC_NAMESPACE } from '../../../../lib/metrics.js';
import { throttledWarning } from '../../../../lib/throttled-warning.js';
import type { AlertsRepository } from '../../data/alerts-repository.js';
import type { PlatformFigures } from '../platform-metrics.js';
import type { AlertEvent } from './alert-events.js';
import { type DetectorParams, type DetectorState, firingState, INITIAL_STATE, observe } from './detector.js';
import { isWatchedMetric, WATCHED_METRIC_NAMES, WATCHED_METRICS, type WatchedMetric } from './watched-metrics.js';

export const SEVERITY_WARNING = 'WARNING';
export const SEVERITY_CRITICAL = 'CRITICAL';

export interface AlertWatcherOptions {
  /** One reading of the platform's live figures (the same sampler `platformMetrics` uses). */
  sample: () => Promise<PlatformFigures>;
  alerts: AlertsRepository;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  /** ms between two readings. */
  intervalMs: number;
  /** Each metric's detector parameters. */
  params: Record<WatchedMetric, DetectorParams>;
  /** An alert is CRITICAL when its sample is this many thresholds above the baseline, else WARNING. */
  criticalFactor: number;
  /** Called once per transition this replica made (publishing to `alertEvents`, Slack); must not throw. */
  announce: (event: AlertEvent) => void;
}

/**
 * Watches the live figures: every `intervalMs` one reading, each watched figure through its
 * own detector, and each transition written to the `Alert` table, then announced. A detector's
 * new state is kept only once its write succeeded, so a write that fails (PostgreSQL down) is
 * tried again with the next anomalous (or normal) sample. At start the open alerts are read
 * back, so an alert raised before a restart resolves after it. A replica that finds the alert
 * raised or resolved by another replica already announces nothing.
 */
export function createAlertWatcher(options: AlertWatcherOptions) {
  const { alerts, logger } = options;
  const states = new Map<WatchedMetric, DetectorState>(WATCHED_METRIC_NAMES.map((metric) => [metric, INITIAL_STATE]));
  const readFailed = throttledWarning(logger, 'aiops: live figures not read; skipping this sample');
  const writeFailed = throttledWarning(logger, 'aiops: alert not written; trying again with the next sample');
  new Gauge({
    name: `${METRIC_NAMESPACE}_aiops_alerts_firing`,
    help: 'Whether an alert is firing for the metric, as this replica sees it (1 firing, 0 not).',
    labelNames: ['metric'] as const,
    registers: [options.registry],
    collect() {
      for (const [metric, state] of states) this.set({ metric }, state.firing ? 1 : 0);
    },
  });
  const raisedTotal = new Counter({
    name: `${METRIC_NAMESPACE}_aiops_alerts_raised_total`,
    help: 'Alerts raised, by metric and severity (counted by the replica that wrote them).',
    labelNames: ['metric', 'severity'] as const,
    registers: [options.registry],
  });
  const samplesTotal = new Counter({
    name: `${METRIC_NAMESPACE}_aiops_samples_total`,
    help: 'Readings of the live figures the detectors judged (the first AIOPS_WARMUP_SAMPLES only learn the baseline).',
    registers: [options.registry],
  });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> | null = null;

  async function apply(metric: WatchedMetric, value: number, at: Date): Promise<void> {
    const before = states.get(metric)!;
    const params = options.params[metric];
    const { state, transition } = observe(before, value, params);
    if (transition.kind === 'raised') {
      const deviation = transition.value - transition.baseline;
      const severity = deviation >= options.criticalFactor * transition.threshold ? SEVERITY_CRITICAL : SEVERITY_WARNING;
      const { alert, created } = await alerts.raise({ metric, severity, value: transition.value, baseline: transition.baseline, threshold: transition.threshold, startedAt: at });
      if (created) {
        raisedTotal.inc({ metric, severity });
        logger.warn({ metric, alertId: alert.id, severity, value: alert.value, baseline: alert.baseline }, 'aiops: alert raised');
        options.announce({ kind: 'RAISED', alert });
      }
    } else if (transition.kind === 'resolved') {
      const alert = await alerts.resolve(metric, transition.value, at);
      if (alert) {
        logger.info({ metric, alertId: alert.id, value: transition.value }, 'aiops: alert resolved');
        options.announce({ kind: 'RESOLVED', alert });
      }
    }
    states.set(metric, state);
  }

  async function tick(): Promise<void> {
    let figures: PlatformFigures;
    try {
      figures = await options.sample();
    } catch (error) {
      readFailed(error);
      return;
    }
    const at = options.clock.now();
    for (const metric of WATCHED_METRIC_NAMES) {
      try {
        await apply(metric, figures[WATCHED_METRICS[metric].figure], at);
      } catch (error) {
        writeFailed(error);
      }
    }
    samplesTotal.inc();
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(() => {
        running = null;
        schedule();
      });
    }, options.intervalMs);
    timer.unref();
  };

  return {
    /** Resumes the open alerts, then reads the figures every `intervalMs`. */
    async start(): Promise<void> {
      for (const alert of await alerts.open()) {
        if (isWatchedMetric(alert.metric)) states.set(alert.metric, firingState(alert.baseline, options.params[alert.metric]));
      }
      schedule();
    },
    /** Stops reading; a sample being handled finishes first. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export type AlertWatcher = ReturnType<typeof createAlertWatcher>;
