import { hostname } from 'node:os';

import { z } from 'zod';

import { env, parseEnv } from '../../lib/config.js';
import { serviceEnvSchema } from '../../lib/service.js';
import { SUBGRAPHS } from '../../lib/subgraph-list.js';

/** The usage subgraph process's settings (see the README's configuration table). */
export const usageEnvSchema = serviceEnvSchema(SUBGRAPHS.usage.port)
  .extend({
    /** This replica's consumer name in the `usage-aggregator` group; stable across restarts (a pod's name). */
    USAGE_CONSUMER_NAME: z.string().min(1).max(200).default(hostname()),
    /** @default 200 // stream entries aggregated per transaction. */
    USAGE_METERING_BATCH_SIZE: z.coerce.number().int().min(1).max(5_000).default(200),
    /** @default 2_000 // ms one read waits for new events (below the Redis client's 5 s command timeout). */
    USAGE_METERING_BLOCK_MS: z.coerce.number().int().min(1).max(4_000).default(2_000),
    /** @default 60_000 // ms: events another replica has left unacknowledged this long are taken over. */
    USAGE_METERING_CLAIM_IDLE_MS: env.positiveInt(60_000),
    /** @default 3_600_000 // 1 h between checks that the last ended billing period is closed; 0 turns the schedule off. */
    BILLING_CLOSE_INTERVAL_MS: z.coerce.number().int().min(0).max(86_400_000).default(3_600_000),
    /** Where closed invoices are POSTed (unset: billing export off). */
    BILLING_WEBHOOK_URL: env.optionalUrl(),
    /** HMAC-SHA256 key of the `Lotabots-Signature` header; required with BILLING_WEBHOOK_URL. */
    BILLING_WEBHOOK_SECRET: z.string().min(32).optional(),
    /** @default 5_000 // ms between looks at the outbox for invoices due to be sent. */
    BILLING_EXPORT_POLL_MS: env.positiveInt(5_000),
    /** @default 1_000 // ms before the first retry; doubles with each failure up to BILLING_EXPORT_MAX_BACKOFF_MS. */
    BILLING_EXPORT_BACKOFF_MS: env.positiveInt(1_000),
    /** @default 3_600_000 // 1 h: the longest wait between two attempts. */
    BILLING_EXPORT_MAX_BACKOFF_MS: env.positiveInt(3_600_000),
    /** @default 10_000 // ms one webhook attempt may take. */
    BILLING_EXPORT_TIMEOUT_MS: env.positiveInt(10_000),
    // Predictive scaling advice (domain/scaling/; the README's "Predictive scaling" says why each default).
    /** @default 5_000 // ms between samples: several per Prometheus scrape, few enough to cost nothing. */
    SCALING_SAMPLE_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
    /** @default 180 // s ahead: about what a GPU worker pod takes to load its model and serve. */
    SCALING_HORIZON_SECONDS: z.coerce.number().int().min(0).max(3_600).default(180),
    /** @default 0.3 // Holt level weight: follows a change within a few samples without chasing noise. */
    SCALING_LEVEL_SMOOTHING: z.coerce.number().gt(0).max(1).default(0.3),
    /** @default 0.1 // Holt trend weight: a trend must persist for a minute or so before it is extrapolated. */
    SCALING_TREND_SMOOTHING: z.coerce.number().gt(0).max(1).default(0.1),
    /** @default 20 // s a job holds a worker slot on average (lotabots_worker_jobs_in_flight over the completion rate). */
    SCALING_JOB_SERVICE_SECONDS: z.coerce.number().positive().max(3_600).default(20),
    /** @default 4 // jobs per worker at once: the workers' WORKER_CONCURRENCY default. */
    SCALING_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(4),
    /** @default 60 // s to work off the jobs already waiting, on top of the arriving load. */
    SCALING_BACKLOG_DRAIN_SECONDS: z.coerce.number().positive().max(3_600).default(60),
    /** @default 1 // the worker autoscaler's minReplicas. */
    SCALING_MIN_WORKERS: z.coerce.number().int().min(0).max(10_000).default(1),
    /** @default 8 // the GPU worker autoscaler's maxReplicas. */
    SCALING_MAX_WORKERS: z.coerce.number().int().min(1).max(10_000).default(8),
    /** @default 100 // operations per second one gateway replica (250m CPU request) serves with headroom; measure with `npm run bench`. */
    SCALING_GATEWAY_REQUESTS_PER_REPLICA: z.coerce.number().positive().default(100),
    /** @default 2 // the gateway autoscaler's minReplicas (one may be disrupted while the other serves). */
    SCALING_MIN_GATEWAY_REPLICAS: z.coerce.number().int().min(0).max(10_000).default(2),
    /** @default 10 // the gateway autoscaler's maxReplicas. */
    SCALING_MAX_GATEWAY_REPLICAS: z.coerce.number().int().min(1).max(10_000).default(10),
    /** @default 300 // s a lower advice must hold before it is given: a dip shorter than a pod start-up sheds nothing. */
    SCALING_SCALE_DOWN_DELAY_SECONDS: z.coerce.number().int().min(0).max(3_600).default(300),
    // AIOps (domain/aiops/): the anomaly detector over the live figures and its Slack alerts.
    /** @default 5_000 // ms between two readings of the live figures (the gateways publish every second over 10 s windows); 0 turns AIOps off. */
    AIOPS_SAMPLE_INTERVAL_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
    /** @default 0.05 // weight of the newest sample: the baseline remembers about the last 2/α ≈ 40 samples (~3 min at 5 s). */
    AIOPS_EWMA_ALPHA: z.coerce.number().gt(0).max(1).default(0.05),
    /** @default 4 // standard deviations above the baseline that count as anomalous (a 3σ rule fires on the heavy tails of latency too often). */
    AIOPS_Z_THRESHOLD: z.coerce.number().positive().default(4),
    /** @default 24 // samples (2 min at 5 s) that only learn the baseline after a start, before any is judged. */
    AIOPS_WARMUP_SAMPLES: z.coerce.number().int().min(0).max(100_000).default(24),
    /** @default 3 // consecutive anomalous samples that raise an alert (15 s at 5 s): one slow scrape never pages anyone. */
    AIOPS_RAISE_AFTER: z.coerce.number().int().min(1).max(1_000).default(3),
    /** @default 12 // consecutive normal samples that resolve it (1 min at 5 s), longer than raising so a recovering figure does not flap. */
    AIOPS_RESOLVE_AFTER: z.coerce.number().int().min(1).max(1_000).default(12),
    /** @default 3 // an alert is CRITICAL when its sample is at least this many thresholds above the baseline, else WARNING. */
    AIOPS_CRITICAL_FACTOR: z.coerce.number().min(1).default(3),
    /** @default 0.05 // the error rate must rise at least 5 points above its baseline: a quiet platform's 0 → 1 failed request of 10 is noise. */
    AIOPS_MIN_DEVIATION_ERROR_RATE: z.coerce.number().min(0).max(1).default(0.05),
    /** @default 250 // ms: p95 must rise at least this much (users notice a quarter second; a flat 5 ms p95 doubling is not an incident). */
    AIOPS_MIN_DEVIATION_P95_LATENCY_MS: z.coerce.number().min(0).default(250),
    /** @default 20 // jobs waiting beyond the baseline: a few queued jobs are ordinary batching, twenty is a worker shortage. */
    AIOPS_MIN_DEVIATION_QUEUE_DEPTH: z.coerce.number().min(0).default(20),
    /** @default 200 // tokens/s beyond the baseline: one extra job's stream is not an anomaly. */
    AIOPS_MIN_DEVIATION_TOKENS_PER_SECOND: z.coerce.number().min(0).default(200),
    /** @default 500 // open subscriptions beyond the baseline: a dashboard or two connecting is not an anomaly, a reconnect storm is. */
    AIOPS_MIN_DEVIATION_OPEN_SUBSCRIPTIONS: z.coerce.number().min(0).default(500),
    /** A Slack incoming webhook that receives each raised and resolved alert (unset: none sent). A secret, never logged. */
    AIOPS_SLACK_WEBHOOK_URL: env.optionalUrl(),
    /** @default 60 // messages per minute at most: Slack allows one per second per webhook. */
    AIOPS_SLACK_MAX_PER_MINUTE: z.coerce.number().int().min(1).max(600).default(60),
    /** @default 5 // attempts of a message that fails (5xx, network, timeout); a 429 waits its Retry-After and does not count. */
    AIOPS_SLACK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
    /** @default 10_000 // ms one POST to Slack may take. */
    AIOPS_SLACK_TIMEOUT_MS: env.positiveInt(10_000),
  })
  .superRefine((config, context) => {
    if (config.BILLING_WEBHOOK_URL && !config.BILLING_WEBHOOK_SECRET) {
      context.addIssue({ code: 'custom', path: ['BILLING_WEBHOOK_SECRET'], message: 'required when BILLING_WEBHOOK_URL is set (at least 32 characters)' });
    }
    if (config.SCALING_MIN_WORKERS > config.SCALING_MAX_WORKERS) {
      context.addIssue({ code: 'custom', path: ['SCALING_MIN_WORKERS'], message: 'must not exceed SCALING_MAX_WORKERS' });
    }
    if (config.SCALING_MIN_GATEWAY_REPLICAS > config.SCALING_MAX_GATEWAY_REPLICAS) {
      context.addIssue({ code: 'custom', path: ['SCALING_MIN_GATEWAY_REPLICAS'], message: 'must not exceed SCALING_MAX_GATEWAY_REPLICAS' });
    }
  });

export type UsageConfig = z.output<typeof usageEnvSchema>;

export function loadUsageConfig(environment: Record<string, string | undefined>): UsageConfig {
  return parseEnv(usageEnvSchema, environment);
}
