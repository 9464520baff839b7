import type { Principal } from '../../../lib/auth/principal.js';
import type { Resolvers } from '../__generated__/resolvers-types.js';
import type { ApiKeys, KeyManager } from '../domain/api-keys.js';
import { requireScope, requireService, requireUserSession } from './guards.js';

/** Keys are managed only by their owner, signed in (an API key cannot mint or revoke keys). */
function keyManager(principal: Principal): KeyManager {
  const userId = requireUserSession(principal);
  requireScope(principal, 'apikeys:manage');
  return { userId, scopes: principal.scopes };
}

export function apiKeyResolvers(apiKeys: ApiKeys): Resolvers {
  return {
    Query: {
      apiKeys: (_parent, _args, { principal }) => apiKeys.list(keyManager(principal)),
      _apiKeyPrincipal(_parent, { prefix, keyHash }, { principal }) {
        requireService(principal);
        return apiKeys.ownerOf(prefix, keyHash);
      },
    },
    Mutation: {
      createApiKey: (_parent, { input }, { principal }) => apiKeys.create(keyManager(principal), input),
      revokeApiKey: (_parent, { id }, { principal }) => apiKeys.revoke(keyManager(principal), id),
    },
  };
}
