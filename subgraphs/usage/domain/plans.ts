import { z } from 'zod';

import { DATA_ADMIN_SCOPES, requireDataOf } from '../../../lib/auth/ownership.js';
import type { Principal } from '../../../lib/auth/principal.js';
import type { Clock } from '../../../lib/clock.js';
import { badUserInput, forbidden, notFound, serviceUnavailable, unauthenticated } from '../../../lib/errors.js';
import { isUuid } from '../../../lib/ids.js';
import { prefixedChannel } from '../../../lib/live/pubsub.js';
import type { Logger } from '../../../lib/logger.js';
import {
  PLAN_CATALOGUE_KEY,
  PLAN_CHANGES_CHANNEL,
  PLAN_CHANGES_MAX_LENGTH,
  PLAN_CHANGES_STREAM,
  type PlanCatalogue,
  type PlanChangeNotice,
  planTierKey,
} from '../../../lib/plans/catalogue.js';
import type { Redis } from '../../../lib/redis.js';
import type { PlanEdit, PlanRecord, PlansRepository } from '../data/plans-repository.js';

/** GraphQL's `QuotaKind` as the `*QuotaHard` columns store it. */
export const quotaKindOf = (hard: boolean) => (hard ? 'HARD' : 'SOFT');

const MAX_INT = 2_147_483_647;
const count = (max = MAX_INT) => z.number().int().min(1).max(max);
const amount = z.number().int().min(0).max(MAX_INT);

/**
 * updatePlan's input, each field bounded: a budget or ceiling of 0 would lock callers out
 * (use a quota for that), and money is whole cents. `null` is refused like a wrong value.
 */
const planEditSchema = z
  .object({
    displayName: z.string().trim().min(1).max(64),
    bucketSize: count(100_000_000),
    restorePerSecond: z.number().positive().max(100_000_000),
    requestsPerWindow: count(100_000_000),
    windowSeconds: count(86_400),
    maxOperationCost: count(100_000_000),
    monthlyRequestQuota: amount,
    requestQuotaKind: z.enum(['HARD', 'SOFT']),
    monthlyTokenQuota: amount,
    tokenQuotaKind: z.enum(['HARD', 'SOFT']),
    priceCentsPerMonth: amount,
    overageCentsPerThousandRequests: amount,
    overageCentsPerThousandTokens: amount,
  })
  .partial()
  .strict();

export type PlanEditInput = Record<string, unknown>;

/** The validated edit as columns, or BAD_USER_INPUT naming the first bad field. */
export function parsePlanEdit(input: PlanEditInput): PlanEdit {
  const parsed = planEditSchema.safeParse(Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    throw badUserInput(`input.${field}: ${issue.message}`, { argumentName: `input.${field}` });
  }
  const { requestQuotaKind, tokenQuotaKind, ...columns } = parsed.data;
  return {
    ...columns,
    ...(requestQuotaKind === undefined ? {} : { requestQuotaHard: requestQuotaKind === 'HARD' }),
    ...(tokenQuotaKind === undefined ? {} : { tokenQuotaHard: tokenQuotaKind === 'HARD' }),
  };
}

/** A plan whose operation ceiling exceeds its bucket could never run its largest operations. */
function checkConsistent(plan: Pick<PlanRecord, 'maxOperationCost' | 'bucketSize'>): void {
  if (plan.maxOperationCost > plan.bucketSize) {
    throw badUserInput(`maxOperationCost (${plan.maxOperationCost}) may not exceed bucketSize (${plan.bucketSize}): such an operation would never fit the budget`, {
      argumentName: 'input.maxOperationCost',
    });
  }
}

/** What the gateway and inference enforce, per tier (lib/plans/catalogue.ts). */
export function catalogueOf(plans: readonly PlanRecord[]): PlanCatalogue {
  return Object.fromEntries(
    plans.map((plan) => [
      plan.id,
      {
        bucketSize: plan.bucketSize,
        restorePerSecond: plan.restorePerSecond,
        requestsPerWindow: plan.requestsPerWindow,
        windowSeconds: plan.windowSeconds,
        maxOperationCost: plan.maxOperationCost,
        monthlyRequestQuota: plan.monthlyRequestQuota,
        requestQuotaHard: plan.requestQuotaHard,
        monthlyTokenQuota: plan.monthlyTokenQuota,
        tokenQuotaHard: plan.tokenQuotaHard,
      },
    ]),
  );
}

/**
 * Plans and plan changes. PostgreSQL is the record; after each change the catalogue and the
 * user's tier are copied to Redis, a notice is published for the gateways' caches
 * (`plans:changes`) and, for a user's change, an entry appended to `plans:user-changes` for the
 * users subgraph, all in one MULTI. When Redis does not take them the change is kept and the
 * caller gets SERVICE_UNAVAILABLE: repeating the same change (idempotent) copies it again.
 */
export function createPlans(deps: { plans: PlansRepository; redis: Redis; clock: Clock; logger: Logger }) {
  const { plans, redis, clock, logger } = deps;
  const notice = (value: PlanChangeNotice) => JSON.stringify(value);

  async function copyToRedis(what: string, build: (multi: ReturnType<Redis['multi']>) => void): Promise<void> {
    const multi = redis.multi();
    multi.set(PLAN_CATALOGUE_KEY, JSON.stringify(catalogueOf(await plans.listPlans())));
    build(multi);
    multi.publish(prefixedChannel(redis, PLAN_CHANGES_CHANNEL), notice({ kind: 'catalogue' }));
    try {
      const results = await multi.exec();
      for (const [error] of results ?? []) if (error) throw error;
    } catch (error) {
      logger.error({ err: error }, `plans: ${what} saved but not copied to Redis`);
      throw serviceUnavailable(`The ${what} is saved but not yet in force; repeat the same request to apply it`);
    }
  }

  return {
    listPlans: () => plans.listPlans(),

    /** updatePlan: scope usage:admin (the gateway checks @requiresScopes; checked again here). */
    async updatePlan(principal: Principal, id: string, input: PlanEditInput): Promise<PlanRecord> {
      if (!principal.scopes.includes(DATA_ADMIN_SCOPES.usage)) throw forbidden(`updatePlan requires scope ${DATA_ADMIN_SCOPES.usage}`);
      const edit = parsePlanEdit(input);
      const existing = await plans.findPlan(id);
      if (!existing) throw notFound('Plan');
      checkConsistent({ ...existing, ...(edit as Partial<PlanRecord>) });
      const updated = await plans.updatePlan(id, edit, clock.now());
      if (!updated) throw notFound('Plan');
      await copyToRedis('plan change', () => {});
      return updated;
    },

    /** changePlan: the caller's own plan, or anyone's with usage:admin (others: NOT_FOUND). */
    async changePlan(principal: Principal, planId: string, userId: string | null | undefined) {
      const targetUserId = userId ?? principal.userId;
      if (!targetUserId) throw unauthenticated('changePlan needs a signed-in user, or userId with usage:admin');
      requireDataOf(principal, targetUserId, DATA_ADMIN_SCOPES.usage, 'User');
      if (!isUuid(targetUserId)) throw notFound('User');
      if (!(await plans.findPlan(planId))) throw badUserInput(`Unknown plan "${planId}"`, { argumentName: 'planId' });
      const { previous, current } = await plans.setPlanOfUser(targetUserId, planId);
      const changedAt = clock.now().toISOString();
      await copyToRedis('plan change', (multi) => {
        multi.set(planTierKey(targetUserId), current.id);
        multi.publish(prefixedChannel(redis, PLAN_CHANGES_CHANNEL), notice({ kind: 'tier', userId: targetUserId }));
        multi.xadd(PLAN_CHANGES_STREAM, 'MAXLEN', '~', PLAN_CHANGES_MAX_LENGTH, '*', 'userId', targetUserId, 'tier', current.id, 'changedAt', changedAt);
      });
      logger.info({ userId: targetUserId, from: previous.id, to: current.id, by: principal.subject }, 'plan changed');
      return { user: { id: targetUserId }, plan: current, previousPlan: previous };
    },

    /**
     * At start: a catalogue someone edited goes back to Redis (which may have restarted
     * empty), so the gateways do not fall back to their defaults. Best effort: logged.
     */
    async republishEditedCatalogue(): Promise<void> {
      try {
        if (await plans.anyPlanEdited()) await copyToRedis('plan catalogue', () => {});
      } catch (error) {
        logger.warn({ err: error }, 'plans: edited catalogue not republished at start');
      }
    },
  };
}

export type Plans = ReturnType<typeof createPlans>;
