import type { IdentitySigner } from '../../lib/auth/identity-header.js';
import type { SigningKeys } from '../../lib/auth/keys.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { Redis } from '../../lib/redis.js';
import type { GatewayConfig } from '../config.js';
import type { Upstream } from '../upstream/index.js';
import { createApiKeyResolver } from './api-keys.js';
import { createAuthenticator } from './authenticator.js';
import { withFailedCredentialLimit } from './failed-attempts.js';
import { createOidcVerifier } from './oidc.js';
import { createSessionRevocationCheck } from './session-revocations.js';
import { createUsersLookup } from './users-lookup.js';

/**
 * The gateway's authenticator, assembled from its config: access tokens, OIDC issuers, API
 * keys, behind the per-address limit on failed credentials; and its session revocation check,
 * which the revocation notices must reach (`watchRevocations`).
 */
export function createGatewayAuthenticator(
  config: GatewayConfig,
  deps: { keys: Pick<SigningKeys, 'publicKey' | 'keyId'>; redis: Redis; identity: IdentitySigner; clock: Clock; logger: Logger },
  upstream: Pick<Upstream, 'subgraphs' | 'execute'>,
) {
  const users = createUsersLookup({
    subgraph: upstream.subgraphs.some((s) => s.name === config.API_KEY_SUBGRAPH) ? config.API_KEY_SUBGRAPH : null,
    identity: deps.identity,
    upstream,
  });
  const sessionRevocations = createSessionRevocationCheck({ redis: deps.redis, users, cacheMs: config.SESSION_CHECK_CACHE_MS });
  const authenticator = createAuthenticator({
    keys: { publicKey: deps.keys.publicKey, keyId: deps.keys.keyId, maxLifetimeSeconds: config.ACCESS_TOKEN_MAX_TTL_SECONDS },
    revocations: sessionRevocations,
    oidc: createOidcVerifier(config.OIDC_ISSUERS, {
      cooldownMs: config.OIDC_JWKS_COOLDOWN_MS,
      cacheMaxAgeMs: config.OIDC_JWKS_MAX_AGE_MS,
      timeoutMs: config.HEALTH_PROBE_TIMEOUT_MS * 5,
    }),
    apiKeys: createApiKeyResolver({
      redis: deps.redis,
      users,
      cacheSeconds: config.API_KEY_CACHE_SECONDS,
      negativeCacheSeconds: config.API_KEY_NEGATIVE_CACHE_SECONDS,
    }),
    clock: deps.clock,
    logger: deps.logger,
  });
  return {
    authenticator: withFailedCredentialLimit(authenticator, { redis: deps.redis, limit: config.AUTH_FAILURE_LIMIT_PER_IP, logger: deps.logger }),
    sessionRevocations,
  };
}
