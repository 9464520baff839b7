import { scopesOfRoles } from '../../../lib/auth/principal.js';

/** What a user may do: the scopes of their roles plus any granted to them directly. */
export function effectiveScopes(user: { roles: readonly string[]; scopes: readonly string[] }): string[] {
  return [...new Set([...scopesOfRoles(user.roles), ...user.scopes])].sort();
}
