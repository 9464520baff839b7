import type { Plugin } from 'graphql-yoga';

import type { IdentitySigner } from '../../lib/auth/identity-header.js';
import type { Principal } from '../../lib/auth/principal.js';
import { thenMaybe } from '../../lib/maybe-promise.js';
import type { AuthContext } from '../auth/use-auth.js';
import type { PlanDirectory } from './plan-directory.js';

/**
 * Gives each operation's principal its effective plan tier (see PlanDirectory), so the cost
 * limits, the rate limiter and every subgraph (through the identity header, re-signed here)
 * see the plan the user is on now, not the one their token was issued with. Register right
 * after useAuth, before anything that reads the principal's plan.
 */
export function usePlanTier(directory: PlanDirectory, identity: IdentitySigner): Plugin<AuthContext> {
  return {
    onContextBuilding({ context, extendContext }) {
      const principal = context.principal;
      if (!principal) return;
      const extendWith = (effective: Principal) => {
        if (effective !== principal) extendContext({ principal: effective, identityHeader: () => identity.current(effective) });
      };
      const effective = directory.withEffectiveTier(principal);
      // No promise when there was nothing to look up (no user): the pipeline then goes on at once.
      return thenMaybe(effective, extendWith);
    },
  };
}
