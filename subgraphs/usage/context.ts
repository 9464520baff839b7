import type { Principal } from '../../lib/auth/principal.js';
import { createBatchLoader, groupBy } from '../../lib/batch-loader.js';
import type { Plan } from './data/__generated__/prisma/client.js';
import { NO_USAGE, type UsageRepository, type UsageTotals } from './data/usage-repository.js';

/** Per-request context of the usage subgraph. */
export interface UsageContext {
  /** The caller, as vouched for by the gateway's signed identity header. */
  principal: Principal;
  loaders: UsageLoaders;
}

export type UsageLoaders = ReturnType<typeof createUsageLoaders>;

interface TotalsKey {
  userId: string;
  /** The period, [start, end) days. */
  start: Date;
  end: Date;
}
const periodId = ({ start, end }: TotalsKey) => `${start.toISOString()}/${end.toISOString()}`;
const totalsId = (key: TotalsKey) => `${key.userId}@${periodId(key)}`;

/** Made for each request: one query per level of a selection for each kind of row (lib/batch-loader.ts). */
export function createUsageLoaders(usage: UsageRepository) {
  return {
    /** Null only if the default plan's row is missing. */
    plan: createBatchLoader<string, Plan | null>({ loadMany: (userIds) => usage.plansOfUsers(userIds), missing: null }),
    /** One statement per period in the batch: one, unless a request straddles the turn of a month. */
    totals: createBatchLoader<TotalsKey, UsageTotals>({
      idOf: totalsId,
      async loadMany(keys) {
        const periods = [...groupBy(keys, periodId).values()];
        const totals = await Promise.all(
          periods.map(async (period) => {
            const { start, end } = period[0]!;
            const byUser = await usage.totalsOfUsers(period.map((key) => key.userId), start, end);
            return period.flatMap((key) => {
              const found = byUser.get(key.userId);
              return found ? [[totalsId(key), found] as const] : [];
            });
          }),
        );
        return new Map(totals.flat());
      },
      missing: NO_USAGE,
    }),
  };
}
