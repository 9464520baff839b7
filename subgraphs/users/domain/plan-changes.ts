import { isUuid } from '../../../lib/ids.js';
import type { Logger } from '../../../lib/logger.js';
import { PLAN_CHANGES_STREAM } from '../../../lib/plans/catalogue.js';
import type { Redis } from '../../../lib/redis.js';
import { startStreamConsumer } from '../../../lib/streams/consumer.js';
import type { UsersRepository } from '../data/users-repository.js';

/** The users subgraph's consumer group on `plans:user-changes`. */
export const PLAN_CHANGES_GROUP = 'users';

/**
 * Copies each plan change the usage subgraph records (changePlan) to `User.planTier`, the
 * tier access tokens and API key principals are issued with. The gateway applies a change at
 * once from Redis; this makes it outlast Redis and reach tokens issued later. A change applies
 * only over an older one (`changedAt`), so a redelivered entry, or one claimed late from a
 * replica that died, never undoes a newer change.
 */
export function startPlanChangeConsumer(deps: { redis: Redis; users: Pick<UsersRepository, 'setPlanTier'>; logger: Logger }) {
  return startStreamConsumer({
    redis: deps.redis,
    stream: PLAN_CHANGES_STREAM,
    group: PLAN_CHANGES_GROUP,
    logger: deps.logger,
    async handle(entries) {
      for (const { fields } of entries) {
        const { userId, tier } = fields;
        const changedAt = new Date(fields.changedAt ?? '');
        if (!userId || !isUuid(userId) || !tier || Number.isNaN(changedAt.getTime())) {
          deps.logger.warn({ fields }, 'plan change skipped: malformed entry');
          continue;
        }
        if (!(await deps.users.setPlanTier(userId, tier, changedAt))) deps.logger.info({ userId }, 'plan change skipped: no such user, or a later change is recorded');
      }
    },
  });
}
