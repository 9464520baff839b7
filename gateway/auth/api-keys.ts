import { parseApiKey } from '../../lib/auth/api-key-format.js';
import type { Principal } from '../../lib/auth/principal.js';
import { apiKeyCacheKey, UNKNOWN_API_KEY } from '../../lib/auth/revocation.js';
import type { Redis } from '../../lib/redis.js';
import type { UsersLookup } from './users-lookup.js';

/** The users subgraph's internal field (`@inaccessible`, so only the gateway can call it). */
const LOOKUP = /* GraphQL */ `query ApiKeyPrincipal($prefix: String!, $keyHash: String!) {
  _apiKeyPrincipal(prefix: $prefix, keyHash: $keyHash) { keyId userId roles scopes plan }
}`;

interface KeyOwner {
  keyId: string;
  userId: string;
  roles: string[];
  scopes: string[];
  plan: string;
}

/**
 * Resolves API keys to principals. Lookups go to the users subgraph (which owns the keys and
 * records `lastUsedAt`) and are cached in Redis under the key's SHA-256 for `cacheSeconds`;
 * unknown keys are cached for `negativeCacheSeconds` so guessing costs the users subgraph
 * little, and the per-address limit on failed credentials (`failed-attempts.ts`) bounds how
 * many lookups and entries one address can cause. Revoking a key tombstones its cache entry,
 * so revocation is immediate; a lost cache (Redis restarted) only means the next lookups ask
 * the users subgraph, which reads PostgreSQL. Redis unreachable fails the lookup (the caller
 * answers SERVICE_UNAVAILABLE): going around the cache would put every API-key request on the
 * users subgraph at once.
 */
export function createApiKeyResolver(options: {
  redis: Redis;
  /** Lookups in the users subgraph, or null when the supergraph has none (API keys then fail). */
  users: UsersLookup | null;
  cacheSeconds: number;
  negativeCacheSeconds: number;
}) {
  const toPrincipal = (owner: KeyOwner, clientIp: string | null): Principal => ({
    kind: 'apiKey',
    userId: owner.userId,
    subject: `apiKey:${owner.keyId}`,
    roles: owner.roles,
    scopes: owner.scopes,
    plan: owner.plan,
    sessionId: null,
    apiKeyId: owner.keyId,
    clientIp,
  });

  async function lookup(prefix: string, keyHash: string): Promise<KeyOwner | null> {
    if (!options.users) return null;
    return (await options.users<{ _apiKeyPrincipal: KeyOwner | null }>(LOOKUP, { prefix, keyHash }))._apiKeyPrincipal;
  }

  return {
    /** The key's principal, or null for a malformed, unknown or revoked key. */
    async resolve(key: string, clientIp: string | null): Promise<Principal | null> {
      const parts = parseApiKey(key);
      if (!parts) return null;
      const cacheKey = apiKeyCacheKey(parts.hash);
      const cached = await options.redis.get(cacheKey);
      if (cached !== null) return cached === UNKNOWN_API_KEY ? null : toPrincipal(JSON.parse(cached) as KeyOwner, clientIp);
      const owner = await lookup(parts.prefix, parts.hash);
      if (!owner) {
        await options.redis.set(cacheKey, UNKNOWN_API_KEY, 'EX', options.negativeCacheSeconds, 'NX');
        return null;
      }
      // NX: a revocation's tombstone written while this lookup was in flight wins.
      const stored = await options.redis.set(cacheKey, JSON.stringify(owner), 'EX', options.cacheSeconds, 'NX');
      if (stored === null && (await options.redis.get(cacheKey)) === UNKNOWN_API_KEY) return null;
      return toPrincipal(owner, clientIp);
    },
  };
}

export type ApiKeyResolver = ReturnType<typeof createApiKeyResolver>;
