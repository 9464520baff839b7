import type { Principal } from '../../../lib/auth/principal.js';
import { badUserInput, forbidden, unauthenticated } from '../../../lib/errors.js';
import { AIOPS_ALERTS_CHANNEL, usageLiveChannel } from '../../../lib/live/keys.js';
import type { LiveHub } from '../../../lib/live/pubsub.js';
import { type LiveUsageUpdate, parseLiveUsageUpdate } from '../../../lib/live/usage-events.js';
import type { SubscriptionResolvers } from '../__generated__/resolvers-types.js';
import { type AlertEvent, parseAlertEvent } from '../domain/aiops/alert-events.js';
import { PLATFORM_METRICS_INTERVAL_SECONDS, type PlatformFigures, type PlatformMetricsFeed } from '../domain/platform-metrics.js';

/** The scope `platformMetrics` requires (admins have it; see ROLE_SCOPES). */
export const METRICS_READ_SCOPE = 'metrics:read';

/**
 * `usageLive`, `platformMetrics` and `alertEvents`. The schema's `@authenticated` / `@requiresScopes` are
 * enforced by the gateway; these resolvers check again, so a subgraph reached with a valid
 * identity but past the gateway's checks still refuses (defence in depth).
 */
export function createSubscriptionResolvers(deps: { hub: LiveHub; platformMetrics: PlatformMetricsFeed }): SubscriptionResolvers {
  return {
    usageLive: {
      subscribe: (_parent, _args, { principal }) => {
        const userId = principal.userId;
        if (!userId) throw unauthenticated('usageLive needs a signed-in user');
        // Only the caller's own channel, and only updates that name the caller.
        return deps.hub.iterate(usageLiveChannel(userId), (payload) => {
          const update = parseLiveUsageUpdate(payload);
          return update?.userId === userId ? update : null;
        });
      },
      resolve: (update: LiveUsageUpdate) => ({
        // A reference: the gateway resolves the user's other fields from the users subgraph.
        user: { id: update.userId },
        at: update.at,
        operationName: update.operationName,
        requests: update.requests,
        tokensIn: update.tokensIn,
        tokensOut: update.tokensOut,
        periodTotals: update.periodTotals,
      }),
    },
    platformMetrics: {
      subscribe: (_parent, { intervalSeconds }, { principal }) => {
        requireScope(principal, METRICS_READ_SCOPE);
        const { min, max } = PLATFORM_METRICS_INTERVAL_SECONDS;
        if (!Number.isInteger(intervalSeconds) || intervalSeconds < min || intervalSeconds > max) {
          throw badUserInput(`intervalSeconds must be between ${min} and ${max}`, { argumentName: 'intervalSeconds' });
        }
        return deps.platformMetrics.subscribe(intervalSeconds);
      },
      resolve: (figures: PlatformFigures) => figures,
    },
    alertEvents: {
      subscribe: (_parent, _args, { principal }) => {
        requireScope(principal, METRICS_READ_SCOPE);
        // Every replica publishes the transitions it makes on one channel, so a subscriber
        // here hears those of every replica.
        return deps.hub.iterate(AIOPS_ALERTS_CHANNEL, parseAlertEvent);
      },
      resolve: (event: AlertEvent) => event,
    },
  };
}

/** UNAUTHENTICATED for an anonymous caller, FORBIDDEN for one without the scope (as the gateway answers). */
export function requireScope(principal: Principal, scope: string): void {
  if (principal.scopes.includes(scope)) return;
  if (principal.kind === 'anonymous') throw unauthenticated(`Requires scope ${scope}`);
  throw forbidden(`Requires scope ${scope}`);
}
