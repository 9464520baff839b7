import { Counter, type Registry } from 'prom-client';

import type { Clock } from '../../../../lib/clock.js';
import { AIOPS_ALERTS_CHANNEL } from '../../../../lib/live/keys.js';
import { publishLive } from '../../../../lib/live/pubsub.js';
import type { Logger } from '../../../../lib/logger.js';
import { METRIC_NAMESPACE } from '../../../../lib/metrics.js';
import type { Redis } from '../../../../lib/redis.js';
import type { UsageConfig } from '../../config.js';
import type { AlertsRepository } from '../../data/alerts-repository.js';
import type { PlatformFigures } from '../platform-metrics.js';
import { type AlertEvent, serializeAlertEvent } from './alert-events.js';
import { alertMessage, alertMessageKey } from './alert-messages.js';
import type { DetectorParams } from './detector.js';
import { createSlackNotifier } from './slack.js';
import type { WatchedMetric } from './watched-metrics.js';
import { createAlertWatcher } from './watcher.js';

/** The usage subgraph's AIOps settings (defaults and why: config.ts). */
export type AiopsSettings = Pick<
  UsageConfig,
  | 'AIOPS_SAMPLE_INTERVAL_MS'
  | 'AIOPS_EWMA_ALPHA'
  | 'AIOPS_Z_THRESHOLD'
  | 'AIOPS_WARMUP_SAMPLES'
  | 'AIOPS_RAISE_AFTER'
  | 'AIOPS_RESOLVE_AFTER'
  | 'AIOPS_CRITICAL_FACTOR'
  | 'AIOPS_MIN_DEVIATION_ERROR_RATE'
  | 'AIOPS_MIN_DEVIATION_P95_LATENCY_MS'
  | 'AIOPS_MIN_DEVIATION_QUEUE_DEPTH'
  | 'AIOPS_MIN_DEVIATION_TOKENS_PER_SECOND'
  | 'AIOPS_MIN_DEVIATION_OPEN_SUBSCRIPTIONS'
  | 'AIOPS_SLACK_WEBHOOK_URL'
  | 'AIOPS_SLACK_MAX_PER_MINUTE'
  | 'AIOPS_SLACK_MAX_ATTEMPTS'
  | 'AIOPS_SLACK_TIMEOUT_MS'
>;

/** Each metric's detector parameters: the shared ones with the metric's own floor. */
export function detectorParamsOf(settings: AiopsSettings): Record<WatchedMetric, DetectorParams> {
  const shared = {
    alpha: settings.AIOPS_EWMA_ALPHA,
    zThreshold: settings.AIOPS_Z_THRESHOLD,
    warmupSamples: settings.AIOPS_WARMUP_SAMPLES,
    raiseAfter: settings.AIOPS_RAISE_AFTER,
    resolveAfter: settings.AIOPS_RESOLVE_AFTER,
  };
  return {
    ERROR_RATE: { ...shared, minDeviation: settings.AIOPS_MIN_DEVIATION_ERROR_RATE },
    P95_LATENCY: { ...shared, minDeviation: settings.AIOPS_MIN_DEVIATION_P95_LATENCY_MS },
    QUEUE_DEPTH: { ...shared, minDeviation: settings.AIOPS_MIN_DEVIATION_QUEUE_DEPTH },
    TOKENS_PER_SECOND: { ...shared, minDeviation: settings.AIOPS_MIN_DEVIATION_TOKENS_PER_SECOND },
    OPEN_SUBSCRIPTIONS: { ...shared, minDeviation: settings.AIOPS_MIN_DEVIATION_OPEN_SUBSCRIPTIONS },
  };
}

export interface AiopsDeps {
  settings: AiopsSettings;
  alerts: AlertsRepository;
  /** A reader of the live figures of its own (tokens/s is a difference between its readings). */
  sample: () => Promise<PlatformFigures>;
  redis: Redis;
  clock: Clock;
  logger: Logger;
  registry: Registry;
}

/**
 * AIOps in the usage subgraph: the watcher over the live figures, each transition published on
 * `aiops:alerts` (every replica's `alertEvents` subscribers hear it) and, with
 * AIOPS_SLACK_WEBHOOK_URL, sent to Slack. `start()` does nothing with AIOPS_SAMPLE_INTERVAL_MS=0.
 */
export function createAiops(deps: AiopsDeps) {
  const { settings, logger } = deps;
  const slackOutcomes = new Counter({
    name: `${METRIC_NAMESPACE}_aiops_slack_messages_total`,
    help: 'Alert messages for Slack by outcome (sent; rejected: a 4xx other than 429; failed: attempts exhausted; dropped: shutdown).',
    labelNames: ['outcome'] as const,
    registers: [deps.registry],
  });
  const slack = settings.AIOPS_SLACK_WEBHOOK_URL
    ? createSlackNotifier({
        webhookUrl: settings.AIOPS_SLACK_WEBHOOK_URL,
        logger,
        maxPerMinute: settings.AIOPS_SLACK_MAX_PER_MINUTE,
        maxAttempts: settings.AIOPS_SLACK_MAX_ATTEMPTS,
        timeoutMs: settings.AIOPS_SLACK_TIMEOUT_MS,
        onOutcome: (outcome) => slackOutcomes.inc({ outcome }),
      })
    : null;
  const announce = (event: AlertEvent) => {
    publishLive(deps.redis, AIOPS_ALERTS_CHANNEL, serializeAlertEvent(event)).catch((error: unknown) =>
      logger.warn({ err: error, alertId: event.alert.id }, 'aiops: alert event not published (alertEvents subscribers miss it; the alert is stored)'),
    );
    slack?.notify(alertMessageKey(event.alert, event.kind), alertMessage(event.alert, event.kind));
  };
  const watcher = createAlertWatcher({
    sample: deps.sample,
    alerts: deps.alerts,
    clock: deps.clock,
    logger,
    registry: deps.registry,
    intervalMs: settings.AIOPS_SAMPLE_INTERVAL_MS,
    params: detectorParamsOf(settings),
    criticalFactor: settings.AIOPS_CRITICAL_FACTOR,
    announce,
  });
  const enabled = settings.AIOPS_SAMPLE_INTERVAL_MS > 0;
  return {
    start: async () => {
      if (enabled) await watcher.start();
    },
    async stop(): Promise<void> {
      await watcher.stop();
      // One attempt's time for the messages the last samples made (a resolve at shutdown).
      await slack?.stop(settings.AIOPS_SLACK_TIMEOUT_MS);
    },
  };
}
