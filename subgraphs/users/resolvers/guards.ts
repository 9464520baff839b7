import type { Principal } from '../../../lib/auth/principal.js';
import { forbidden, unauthenticated } from '../../../lib/errors.js';

/**
 * Checks resolvers make themselves, on top of the gateway's @authenticated and
 * @requiresScopes: a subgraph must not depend on one gateway plugin for its own security.
 * No credentials is UNAUTHENTICATED; credentials that do not allow it, FORBIDDEN.
 */
function signedIn(principal: Principal): void {
  if (principal.kind === 'anonymous') throw unauthenticated();
}

export function requireScope(principal: Principal, scope: string): void {
  signedIn(principal);
  if (!principal.scopes.includes(scope)) throw forbidden(`Needs the ${scope} scope`);
}

/**
 * A user signed in with a LotaBots access token (not an API key or an outside OIDC identity):
 * managing credentials must not be possible with a credential that could be the one managed.
 */
export function requireUserSession(principal: Principal): string {
  signedIn(principal);
  if (principal.kind !== 'user' || !principal.userId) throw forbidden('Only a signed-in user can do this, not an API key');
  return principal.userId;
}

/** The gateway's own identity, for internal fields. */
export function requireService(principal: Principal): void {
  if (principal.kind !== 'service') throw forbidden();
}

/** Where per-IP limits count the caller; all callers without a known address share one bucket. */
export const clientIpOf = (principal: Principal) => principal.clientIp ?? 'unknown';
