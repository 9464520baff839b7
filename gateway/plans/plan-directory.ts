import type { Principal } from '../../lib/auth/principal.js';
import { setBounded } from '../../lib/bounded-map.js';
import type { Clock } from '../../lib/clock.js';
import type { LiveHub } from '../../lib/live/pubsub.js';
import type { Logger } from '../../lib/logger.js';
import {
  parsePlanCatalogue,
  parsePlanChangeNotice,
  PLAN_CATALOGUE_KEY,
  PLAN_CHANGES_CHANNEL,
  type PlanCatalogue,
  planTierKey,
} from '../../lib/plans/catalogue.js';
import { type MonthlyQuotas, quotasOf } from '../../lib/plans/quotas.js';
import type { Redis } from '../../lib/redis.js';
import { throttledWarning } from '../../lib/throttled-warning.js';
import type { CostPlans } from '../cost/plans.js';
import type { RateLimitPlans } from '../rate-limit/plans.js';

/** @default 100_000 // users whose tier is remembered; the oldest entry goes first beyond. */
const MAX_CACHED_TIERS = 100_000;

export interface PlanDirectoryOptions {
  redis: Redis;
  hub: LiveHub;
  clock: Clock;
  logger: Logger;
  /** RATE_LIMIT_PLANS and COST_PLANS: in force for every tier the Redis catalogue does not list. */
  defaults: { rateLimit: RateLimitPlans; cost: CostPlans };
  /** PLAN_CACHE_TTL_MS: how long a tier or the catalogue is trusted without a change notice. */
  cacheTtlMs: number;
}

/**
 * Each caller's effective plan tier and each tier's limits, as the usage subgraph publishes
 * them in Redis (lib/plans/catalogue.ts). Tiers are cached per user and the catalogue per
 * process; a notice on `plans:changes` drops what changed at once, so a changePlan or
 * updatePlan applies to the next operation (well within a second), and `cacheTtlMs` bounds
 * how long a notice lost with a dropped subscriber connection can leave a stale entry.
 * Redis unreachable: the cached tier, else the token's; the last catalogue, else the defaults.
 */
export function createPlanDirectory(options: PlanDirectoryOptions) {
  const { redis, clock, logger, defaults, cacheTtlMs } = options;
  const tiers = new Map<string, { tier: string | null; expiresAt: number }>();
  let catalogue: { plans: PlanCatalogue | null; expiresAt: number } = { plans: null, expiresAt: 0 };
  let rateLimitPlans: RateLimitPlans = defaults.rateLimit;
  let costPlans: CostPlans = defaults.cost;
  /** Bumped by every tier notice: a lookup that started before one must not cache what it read. */
  let generation = 0;
  let catalogueLoad: Promise<void> | null = null;
  const warn = throttledWarning(logger, 'plans: Redis unavailable, using cached or token plan tiers');

  const setCatalogue = (plans: PlanCatalogue | null) => {
    catalogue = { plans, expiresAt: clock.now().getTime() + cacheTtlMs };
    rateLimitPlans = { ...defaults.rateLimit };
    costPlans = { ...defaults.cost };
    for (const [tier, plan] of Object.entries(plans ?? {})) {
      const { bucketSize, restorePerSecond, requestsPerWindow, windowSeconds, maxOperationCost } = plan;
      (rateLimitPlans as Record<string, RateLimitPlans[string]>)[tier] = { bucketSize, restorePerSecond, requestsPerWindow, windowSeconds };
      (costPlans as Record<string, CostPlans[string]>)[tier] = { maxOperationCost };
    }
  };

  /**
   * One GET at a time; a notice during one asks for another after it (`changedSince`), so
   * the last read always follows the last change.
   */
  let changedSince = false;
  const loadCatalogue = (changed = false): Promise<void> => {
    if (catalogueLoad) {
      changedSince ||= changed;
      return catalogueLoad;
    }
    catalogueLoad = (async () => {
      do {
        changedSince = false;
        try {
          setCatalogue(parsePlanCatalogue(await redis.get(PLAN_CATALOGUE_KEY)));
        } catch (error) {
          warn(error);
        }
      } while (changedSince);
      catalogueLoad = null;
    })();
    return catalogueLoad;
  };

  async function storedTier(userId: string): Promise<string | null | undefined> {
    const cached = tiers.get(userId);
    const now = clock.now().getTime();
    if (cached && cached.expiresAt > now) return cached.tier;
    const startedAt = generation;
    try {
      const tier = await redis.get(planTierKey(userId));
      if (startedAt === generation) {
        setBounded(tiers, userId, { tier, expiresAt: now + cacheTtlMs }, MAX_CACHED_TIERS);
      }
      return tier;
    } catch (error) {
      warn(error);
      return cached?.tier;
    }
  }

  return {
    /** Loads the catalogue and starts listening for change notices. Resolves to `stop`. */
    async start(): Promise<() => Promise<void>> {
      const stop = await options.hub.listen(PLAN_CHANGES_CHANNEL, {
        message(payload) {
          const notice = parsePlanChangeNotice(payload);
          if (!notice) return void logger.warn('plans: ignored a malformed change notice');
          if (notice.kind === 'catalogue') return void loadCatalogue(true);
          generation += 1;
          tiers.delete(notice.userId);
        },
      });
      await loadCatalogue();
      return stop;
    },
    /**
     * The principal with its effective tier: a user's (or their API key's) from the usage
     * subgraph's record when Redis has one, else the tier its credential carries. No promise
     * for a caller without a user (anonymous, OIDC, the gateway itself): nothing to look up.
     */
    withEffectiveTier(principal: Principal): Principal | Promise<Principal> {
      if (catalogue.expiresAt <= clock.now().getTime()) void loadCatalogue();
      if (!principal.userId) return principal;
      return storedTier(principal.userId).then((tier) => (tier && tier !== principal.plan ? { ...principal, plan: tier } : principal));
    },
    /** Rate limits per tier now (RATE_LIMIT_PLANS overlaid with the catalogue). */
    rateLimitPlans: (): RateLimitPlans => rateLimitPlans,
    /** Operation limits per tier now (COST_PLANS overlaid with the catalogue). */
    costPlans: (): CostPlans => costPlans,
    /** The tier's monthly quotas now (the catalogue's, else the seeded defaults). */
    quotasOf: (tier: string): MonthlyQuotas => quotasOf(catalogue.plans, tier),
  };
}

export type PlanDirectory = ReturnType<typeof createPlanDirectory>;
