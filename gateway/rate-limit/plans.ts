import { z } from 'zod';

import type { Principal } from '../../lib/auth/principal.js';

/** One plan tier's limits: the cost bucket (token bucket) and the request count (sliding window). */
export const rateLimitPlanSchema = z.object({
  /** The most cost one caller can spend at once (the bucket's size). */
  bucketSize: z.number().int().positive(),
  /** Cost restored per second, up to bucketSize. */
  restorePerSecond: z.number().positive(),
  /** Requests allowed per window with RATE_LIMIT_ALGORITHM=sliding-window. */
  requestsPerWindow: z.number().int().positive(),
  windowSeconds: z.number().int().positive(),
});

export type RateLimitPlan = z.output<typeof rateLimitPlanSchema>;
/** Limits per plan tier (the principal's `plan`); `free` is required: it serves unknown tiers. */
export type RateLimitPlans = Record<string, RateLimitPlan>;

export const rateLimitPlansSchema = z
  .record(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected a plan name like "pro"'), rateLimitPlanSchema)
  .refine((plans) => Object.hasOwn(plans, 'free'), 'a "free" plan is required (it serves callers of unknown plans)');

/**
 * Shopify's bucket for the smallest tier (1 000 points, 50 restored per second), ×5 and ×20
 * above it; the request counts allow about 10, 50 and 200 requests per second on average.
 */
export const DEFAULT_RATE_LIMIT_PLANS: RateLimitPlans = {
  free: { bucketSize: 1_000, restorePerSecond: 50, requestsPerWindow: 600, windowSeconds: 60 },
  pro: { bucketSize: 5_000, restorePerSecond: 250, requestsPerWindow: 3_000, windowSeconds: 60 },
  enterprise: { bucketSize: 20_000, restorePerSecond: 1_000, requestsPerWindow: 12_000, windowSeconds: 60 },
};

/** The caller's tier, as the bounded `tier` metric label and the key to its limits. */
export const tierOf = (plans: RateLimitPlans, principal: Principal): string => (Object.hasOwn(plans, principal.plan) ? principal.plan : 'free');

/**
 * Whose bucket a request draws from: the user, the API key (each partner key has its own),
 * the OIDC subject, or for anonymous callers the client IP (`ip:unknown` when the gateway
 * could not tell, so those share one bucket rather than none).
 */
export const subjectOf = (principal: Principal): string =>
  principal.kind === 'anonymous' ? `ip:${principal.clientIp ?? 'unknown'}` : principal.subject;
