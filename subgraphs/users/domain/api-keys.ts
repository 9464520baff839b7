import { generateApiKey } from '../../../lib/auth/api-key-format.js';
import type { Clock } from '../../../lib/clock.js';
import { badUserInput, conflict, graphqlError, notFound } from '../../../lib/errors.js';
import { isUuid } from '../../../lib/ids.js';
import type { ApiKeyRecord } from '../data/api-keys-repository.js';
import type { UsersStore } from '../data/store.js';
import { sameDigest } from './bearer-secrets.js';
import type { RevocationCache } from './revocation-cache.js';
import { effectiveScopes } from './scopes.js';

/** What a key gets when its creator names no scopes: run inference and read usage, nothing more. */
export const DEFAULT_API_KEY_SCOPES = ['inference:read', 'inference:write', 'usage:read'] as const;
/** @default 25 // active keys per user: plenty for separate integrations, few enough to audit. */
export const MAX_ACTIVE_API_KEYS = 25;
const MAX_NAME_LENGTH = 100;
const MAX_SCOPES = 50;
const MAX_SCOPE_LENGTH = 100;
/** @default 60_000 // 1 min: `lastUsedAt` precision, at most one write per key per minute. */
const LAST_USED_PRECISION_MS = 60_000;

const PREFIX_PATTERN = /^lbk_[0-9a-f]{12}$/;

/** Who a key acts for, as the gateway builds its principal from it. */
export interface ApiKeyOwner {
  keyId: string;
  userId: string;
  roles: string[];
  scopes: string[];
  plan: string;
}

/** The caller managing their keys: a signed-in user and the scopes their token carries. */
export interface KeyManager {
  userId: string;
  scopes: readonly string[];
}

function checkedScopes(requested: readonly string[] | null | undefined, allowed: readonly string[]): string[] {
  const scopes = requested?.length ? [...new Set(requested.map((s) => s.trim()))].sort() : [...DEFAULT_API_KEY_SCOPES];
  if (scopes.length > MAX_SCOPES || scopes.some((s) => s.length === 0 || s.length > MAX_SCOPE_LENGTH)) {
    throw badUserInput(`Give at most ${MAX_SCOPES} scopes of 1 to ${MAX_SCOPE_LENGTH} characters`, { field: 'scopes' });
  }
  const beyond = scopes.filter((scope) => !allowed.includes(scope));
  if (beyond.length > 0) {
    throw graphqlError('FORBIDDEN', `An API key cannot have scopes you do not have: ${beyond.join(', ')}`, { scopes: beyond });
  }
  return scopes;
}

/**
 * Partner API keys. A key is shown once, at creation; only its prefix and SHA-256 are kept.
 * Revocation is recorded in PostgreSQL, then tombstones the gateway's cached lookup, so the
 * next request with the key fails.
 */
export function createApiKeys(deps: { store: UsersStore; revocations: Pick<RevocationCache, 'apiKeyRevoked'>; clock: Clock }) {
  const { store, clock } = deps;
  return {
    list: (manager: KeyManager) => store.apiKeys.listOfUser(manager.userId),

    async create(manager: KeyManager, input: { name: string; scopes?: readonly string[] | null }): Promise<{ apiKey: ApiKeyRecord; key: string }> {
      const name = input.name.trim();
      if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
        throw badUserInput(`Name must be 1 to ${MAX_NAME_LENGTH} characters`, { field: 'name' });
      }
      const scopes = checkedScopes(input.scopes, manager.scopes);
      const { key, prefix, hash } = generateApiKey();
      const apiKey = await store.transaction(async (tx) => {
        await tx.users.lock(manager.userId);
        if ((await tx.apiKeys.countActiveOfUser(manager.userId)) >= MAX_ACTIVE_API_KEYS) {
          throw conflict(`At most ${MAX_ACTIVE_API_KEYS} API keys can be active; revoke one first`);
        }
        return tx.apiKeys.create({ userId: manager.userId, name, prefix, keyHash: hash, scopes });
      });
      return { apiKey, key };
    },

    /** Revokes one of the manager's own keys (idempotent); another user's key is NOT_FOUND. */
    async revoke(manager: KeyManager, id: string): Promise<ApiKeyRecord> {
      const owned = isUuid(id) ? await store.apiKeys.findOwnedWithHash(manager.userId, id) : null;
      if (!owned) throw notFound('API key');
      const revoked = await store.apiKeys.markRevoked(owned.id, clock.now());
      await deps.revocations.apiKeyRevoked({ id: owned.id, keyHash: owned.keyHash, revokedAt: revoked.revokedAt! });
      return revoked;
    },

    /**
     * The owner of a live key whose SHA-256 is `keyHash`, or null. The key keeps only those of
     * its scopes its owner still holds, so taking a role away also narrows the owner's keys.
     */
    async ownerOf(prefix: string, keyHash: string): Promise<ApiKeyOwner | null> {
      const key = PREFIX_PATTERN.test(prefix) ? await store.apiKeys.findByPrefixForAuth(prefix) : null;
      if (!key || key.revokedAt || !sameDigest(key.keyHash, keyHash)) return null;
      await store.apiKeys.touch(key.id, clock.now(), LAST_USED_PRECISION_MS);
      const ownerScopes = effectiveScopes(key.user);
      return {
        keyId: key.id,
        userId: key.userId,
        roles: key.user.roles,
        scopes: key.scopes.filter((scope) => ownerScopes.includes(scope)),
        plan: key.user.planTier,
      };
    },
  };
}

export type ApiKeys = ReturnType<typeof createApiKeys>;
