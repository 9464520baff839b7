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
  })
  .superRefine((config, context) => {
    if (config.BILLING_WEBHOOK_URL && !config.BILLING_WEBHOOK_SECRET) {
      context.addIssue({ code: 'custom', path: ['BILLING_WEBHOOK_SECRET'], message: 'required when BILLING_WEBHOOK_URL is set (at least 32 characters)' });
    }
  });

export type UsageConfig = z.output<typeof usageEnvSchema>;

export function loadUsageConfig(environment: Record<string, string | undefined>): UsageConfig {
  return parseEnv(usageEnvSchema, environment);
}
