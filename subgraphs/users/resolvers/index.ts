import { DateTimeScalar } from '../../../lib/scalars.js';
import type { Resolvers } from '../__generated__/resolvers-types.js';
import type { UsersRepository } from '../data/users-repository.js';
import type { Accounts } from '../domain/accounts.js';
import type { ApiKeys } from '../domain/api-keys.js';
import type { PasswordReset } from '../domain/password-reset.js';
import type { RevocationCache } from '../domain/revocation-cache.js';
import type { Sessions } from '../domain/sessions.js';
import { apiKeyResolvers } from './api-keys.js';
import { authResolvers } from './auth.js';
import { userResolvers } from './users.js';

export interface UsersResolverDeps {
  users: UsersRepository;
  accounts: Accounts;
  sessions: Sessions;
  revocations: RevocationCache;
  passwordReset: PasswordReset;
  apiKeys: ApiKeys;
}

/** Each area's resolvers, merged per type (no two areas define the same field). */
export function createUsersResolvers(deps: UsersResolverDeps): Resolvers {
  const areas = [userResolvers(deps.users), authResolvers(deps), apiKeyResolvers(deps.apiKeys)];
  const merged: Record<string, Record<string, unknown>> = {};
  for (const area of areas) {
    for (const [type, fields] of Object.entries(area)) merged[type] = { ...merged[type], ...(fields as Record<string, unknown>) };
  }
  return { ...(merged as Resolvers), DateTime: DateTimeScalar };
}
