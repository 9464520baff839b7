import { graphqlError } from '../errors.js';
import type { Redis } from '../redis.js';
import { parsePlanCatalogue, PLAN_CATALOGUE_KEY, type PublishedPlan } from './catalogue.js';

/**
 * Monthly quotas (issue 18): counters per user and calendar month (UTC) in Redis, and the
 * checks against the plan's quotas. Who counts what:
 * - requests: the gateway (`gateway/plans/`), atomically with the hard-quota check, for every
 *   operation that passed its rate limits;
 * - tokens: the usage subgraph (`domain/quota-counters.ts`) from the `usage:events` stream,
 *   each event once (by `eventId`), so inference only emits its usage event as it does anyway.
 * The invoices come from the usage subgraph's PostgreSQL aggregates, never from these counters.
 */

export type MonthlyQuotas = Pick<PublishedPlan, 'monthlyRequestQuota' | 'requestQuotaHard' | 'monthlyTokenQuota' | 'tokenQuotaHard'>;

/**
 * The seeded plans' quotas (prisma/usage migration plan_limits_quotas_prices), in force while
 * Redis holds no catalogue (no plan edited and no plan changed since Redis was last empty).
 * A tier not listed gets `free`'s.
 */
export const DEFAULT_MONTHLY_QUOTAS: Readonly<Record<string, MonthlyQuotas>> = {
  free: { monthlyRequestQuota: 100_000, requestQuotaHard: true, monthlyTokenQuota: 100_000, tokenQuotaHard: true },
  pro: { monthlyRequestQuota: 2_000_000, requestQuotaHard: false, monthlyTokenQuota: 5_000_000, tokenQuotaHard: false },
  enterprise: { monthlyRequestQuota: 50_000_000, requestQuotaHard: false, monthlyTokenQuota: 100_000_000, tokenQuotaHard: false },
};

/** @default 40 days // a month's counter outlives the month by a few days, then Redis drops it. */
export const QUOTA_COUNTER_TTL_SECONDS = 40 * 24 * 3_600;

/** `2026-12`: the calendar month (UTC) of `at`. */
/** `YYYY-MM` (UTC) of `at`; built from its fields, as every operation names its month's quota counter. */
export const monthOf = (at: Date) => `${at.getUTCFullYear()}-${String(at.getUTCMonth() + 1).padStart(2, '0')}`;

export const requestCounterKey = (userId: string, at: Date) => `quota:requests:${userId}:${monthOf(at)}`;
export const tokenCounterKey = (userId: string, at: Date) => `quota:tokens:${userId}:${monthOf(at)}`;

/** The first instant of the month after `at`'s (UTC), when every monthly counter starts again. */
export const monthEndOf = (at: Date) => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));

/** The tier's quotas from a catalogue, or the defaults; unknown tiers get `free`'s. */
export function quotasOf(catalogue: Readonly<Record<string, MonthlyQuotas>> | null, tier: string): MonthlyQuotas {
  const plans = catalogue ?? DEFAULT_MONTHLY_QUOTAS;
  return plans[tier] ?? plans.free ?? DEFAULT_MONTHLY_QUOTAS.free!;
}

/** QUOTA_EXCEEDED for one of the two monthly quotas, with what a client needs to tell the user. */
export const quotaExceeded = (quota: 'requests' | 'tokens', limit: number, used: number, at: Date, extensions: Record<string, unknown> = {}) =>
  graphqlError('QUOTA_EXCEEDED', `The plan's monthly ${quota} quota (${limit}) is used up until ${monthEndOf(at).toISOString()}.`, {
    quota,
    limit,
    used,
    resetAt: monthEndOf(at).toISOString(),
    ...extensions,
  });

/**
 * For `submitInference` (inference subgraph), before a job is queued: throws QUOTA_EXCEEDED
 * when `plan` (the caller's effective tier: `principal.plan`, which the gateway sets from
 * the usage subgraph's record) has a hard monthly token quota and this month's tokens
 * (in + out, counted from the usage events of completed jobs) have reached it. A soft quota
 * never refuses: the tokens beyond it are billed as overage. One Redis round trip (MGET);
 * rejects with the Redis error when Redis does not answer (`isRedisUnavailable`), and the
 * caller decides: `submitInference` lets the job through, as the gateway's request quota does.
 * Jobs already running when the quota is reached finish: the quota can be overrun by them.
 */
export async function checkTokenQuota(redis: Redis, caller: { userId: string; plan: string }, now: Date): Promise<void> {
  const [catalogueJson, usedText] = await redis.mget(PLAN_CATALOGUE_KEY, tokenCounterKey(caller.userId, now));
  const quotas = quotasOf(parsePlanCatalogue(catalogueJson ?? null), caller.plan);
  const used = Number(usedText ?? 0);
  if (quotas.tokenQuotaHard && used >= quotas.monthlyTokenQuota) throw quotaExceeded('tokens', quotas.monthlyTokenQuota, used, now);
}
