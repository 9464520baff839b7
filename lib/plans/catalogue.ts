import { z } from 'zod';

/**
 * The plan catalogue as the usage subgraph (its source of truth) publishes it to Redis for
 * the gateway and inference, and the names it publishes under. Keys take the client's
 * `keyPrefix`; the channel is prefixed by `lib/live/pubsub.ts`.
 */

/** String key: the catalogue as JSON (`PlanCatalogue`), written when a plan is edited or a user changes plan. */
export const PLAN_CATALOGUE_KEY = 'plans:catalogue';

/** String key: the user's plan tier (`free`, `pro`, …), written by changePlan. No key: the tier in the user's token. */
export const planTierKey = (userId: string) => `plans:tier:${userId}`;

/** Pub/sub channel: a `PlanChangeNotice` (JSON) after each write above, so caches drop what changed. */
export const PLAN_CHANGES_CHANNEL = 'plans:changes';

/**
 * Stream of plan changes (`userId`, `tier`, `changedAt`), consumed by the users subgraph
 * (consumer group `users`) to set `users.planTier`, so tokens issued afterwards carry it.
 */
export const PLAN_CHANGES_STREAM = 'plans:user-changes';

/** @default 10_000 // entries kept: far more than changes waiting while the users subgraph restarts. */
export const PLAN_CHANGES_MAX_LENGTH = 10_000;

/** What the gateway and inference enforce for one plan tier (a `Plan` row without its prices). */
export const publishedPlanSchema = z.object({
  bucketSize: z.number().int().positive(),
  restorePerSecond: z.number().positive(),
  requestsPerWindow: z.number().int().positive(),
  windowSeconds: z.number().int().positive(),
  maxOperationCost: z.number().int().positive(),
  monthlyRequestQuota: z.number().int().nonnegative(),
  requestQuotaHard: z.boolean(),
  monthlyTokenQuota: z.number().int().nonnegative(),
  tokenQuotaHard: z.boolean(),
});

export type PublishedPlan = z.output<typeof publishedPlanSchema>;
/** Plan tier → what is enforced for it. */
export type PlanCatalogue = Record<string, PublishedPlan>;

const catalogueSchema = z.record(z.string(), publishedPlanSchema);

/** The catalogue stored at PLAN_CATALOGUE_KEY, or null when there is none or it does not parse. */
export function parsePlanCatalogue(json: string | null): PlanCatalogue | null {
  if (json === null) return null;
  try {
    const parsed = catalogueSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** One message on PLAN_CHANGES_CHANNEL: one user's tier changed, or the catalogue did. */
export type PlanChangeNotice = { kind: 'tier'; userId: string } | { kind: 'catalogue' };

export function parsePlanChangeNotice(payload: string): PlanChangeNotice | null {
  try {
    const value = JSON.parse(payload) as Partial<{ kind: string; userId: unknown }>;
    if (value.kind === 'catalogue') return { kind: 'catalogue' };
    if (value.kind === 'tier' && typeof value.userId === 'string') return { kind: 'tier', userId: value.userId };
  } catch {
    // fall through: not a notice
  }
  return null;
}
