import { notFound } from '../errors.js';
import type { Principal } from './principal.js';

/**
 * Who may see one person's data: that person, or a caller holding the admin scope of the
 * subgraph that owns the data. Every subgraph applies this rule in its own resolvers, to
 * the principal the gateway signed, so a request that reaches a subgraph past the gateway's
 * directives (or through an entity reference) still sees nothing of anyone else's.
 *
 * - `user` and `apiKey` callers own the data of `principal.userId` (an API key acts for its
 *   owner; it holds an admin scope only if it was created with one).
 * - `oidc`, `anonymous` and `service` callers own nothing (their `userId` is null); only an
 *   admin scope in their claims lets them see anyone's data.
 *
 * Anyone else gets NOT_FOUND, exactly as for data that does not exist, never FORBIDDEN:
 * a refusal must not confirm that an id exists.
 */
export const DATA_ADMIN_SCOPES = {
  /** Accounts: email, roles, scopes, plan tier (also the existing `user(id)` root field). */
  users: 'users:read',
  /** Inference jobs: prompts and outputs. */
  inference: 'inference:admin',
  /** Plans and metered usage. */
  usage: 'usage:admin',
  /** Autonomy settings. */
  autonomy: 'autonomy:admin',
} as const;

export type DataAdminScope = (typeof DATA_ADMIN_SCOPES)[keyof typeof DATA_ADMIN_SCOPES];

export function canSeeDataOf(principal: Principal, ownerUserId: string, adminScope: DataAdminScope): boolean {
  if (principal.scopes.includes(adminScope)) return true;
  const ownsData = principal.kind === 'user' || principal.kind === 'apiKey';
  return ownsData && principal.userId !== null && principal.userId === ownerUserId;
}

/** Throws NOT_FOUND ("<what> not found") unless the principal may see `ownerUserId`'s data. */
export function requireDataOf(principal: Principal, ownerUserId: string, adminScope: DataAdminScope, what: string): void {
  if (!canSeeDataOf(principal, ownerUserId, adminScope)) throw notFound(what);
}

/**
 * `record` when it exists and the principal may see its owner's data; otherwise NOT_FOUND,
 * the same answer for a missing record and for someone else's.
 */
export function visibleRecord<T>(
  principal: Principal,
  record: T | null | undefined,
  ownerOf: (record: T) => string,
  adminScope: DataAdminScope,
  what: string,
): T {
  if (record == null || !canSeeDataOf(principal, ownerOf(record), adminScope)) throw notFound(what);
  return record;
}

/**
 * `__resolveReference` of `User` in a subgraph that adds fields to it: every such field is
 * that user's data, so the reference itself answers only to the user or the admin scope.
 */
export function ownedUserReference(adminScope: DataAdminScope) {
  return (reference: { id: string }, context: { principal: Principal }): { id: string } => {
    requireDataOf(context.principal, reference.id, adminScope, 'User');
    return { id: reference.id };
  };
}
