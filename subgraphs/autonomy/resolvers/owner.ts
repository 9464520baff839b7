import { DATA_ADMIN_SCOPES, requireDataOf } from '../../../lib/auth/ownership.js';
import type { Principal } from '../../../lib/auth/principal.js';
import { notFound } from '../../../lib/errors.js';
import { isUuid } from '../../../lib/ids.js';

/**
 * The user whose settings a call is about: `userId` when given (the caller's own, or
 * anyone's with `autonomy:admin`), else the caller. NOT_FOUND for anyone else's, a malformed
 * id, or a caller who owns no settings (OIDC, anonymous, service), alike.
 */
export function settingsOwner(principal: Principal, userId: string | null | undefined): string {
  const target = userId ?? principal.userId;
  if (target === null || !isUuid(target)) throw notFound('User');
  requireDataOf(principal, target, DATA_ADMIN_SCOPES.autonomy, 'User');
  return target;
}
