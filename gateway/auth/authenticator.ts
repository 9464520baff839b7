import { decodeJwt } from 'jose';

import { ACCESS_TOKEN_ISSUER, type AccessTokenVerificationKeys, type VerifiedAccessToken, verifyAccessToken } from '../../lib/auth/access-token.js';
import { anonymousPrincipal, type Principal } from '../../lib/auth/principal.js';
import { setBounded } from '../../lib/bounded-map.js';
import type { Clock } from '../../lib/clock.js';
import { graphqlError, SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS, serviceUnavailable } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { isRedisUnavailable } from '../../lib/redis.js';
import { throttledWarning } from '../../lib/throttled-warning.js';
import type { ApiKeyResolver } from './api-keys.js';
import { type Credential, extractCredential } from './credentials.js';
import type { createOidcVerifier } from './oidc.js';
import type { SessionRevocationCheck } from './session-revocations.js';
import { UsersLookupUnavailable } from './users-lookup.js';

/** Every credential failure looks the same to the client: which check failed is logged only. */
const rejected = () => graphqlError('UNAUTHENTICATED', 'Invalid or expired credentials', { http: { status: 401 } });

/**
 * @default 4_096 // access tokens whose verified claims are kept (about 1 KB each): a client
 * sends the same token with every request for its 15 minutes, and ES256 verification is
 * the dearest step of authenticating one (CPU and a trip through the thread pool).
 */
export const MAX_VERIFIED_ACCESS_TOKENS = 4_096;

/** Nothing ran, and retrying later will work: HTTP 503 with Retry-After. */
const retryLater = { http: { status: 503, headers: { 'retry-after': String(SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS) } } };

export interface AuthenticatorDeps {
  keys: AccessTokenVerificationKeys;
  revocations: Pick<SessionRevocationCheck, 'isRevoked'>;
  oidc: ReturnType<typeof createOidcVerifier>;
  apiKeys: ApiKeyResolver;
  clock: Clock;
  logger: Logger;
}

/**
 * Establishes who sent a request, once, at the gateway. No credential: anonymous.
 * Any credential that does not verify (malformed, expired, `alg: none`, wrong key,
 * HS/ES confusion, revoked session or key, unknown issuer): UNAUTHENTICATED, HTTP 401.
 * A credential that cannot be checked now because Redis or the users subgraph is down:
 * SERVICE_UNAVAILABLE or SUBGRAPH_UNAVAILABLE, HTTP 503 with Retry-After (fail-closed, and
 * never UNAUTHENTICATED, which would tell the client to sign in again).
 */
export function createAuthenticator(deps: AuthenticatorDeps) {
  const usersDown = throttledWarning(deps.logger, 'credentials not checked: users subgraph unavailable');
  const redisDown = throttledWarning(deps.logger, 'credentials not checked: Redis unavailable');
  function cannotCheck(error: unknown): never {
    if (error instanceof UsersLookupUnavailable) {
      usersDown(error);
      throw graphqlError('SUBGRAPH_UNAVAILABLE', 'Cannot check credentials right now; retry shortly', {
        serviceName: 'users',
        retryAfter: SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS,
        ...retryLater,
      });
    }
    if (isRedisUnavailable(error)) {
      redisDown(error);
      throw serviceUnavailable('Cannot check credentials right now; retry shortly', retryLater);
    }
    throw error;
  }

  /**
   * Claims of access tokens that verified, by the token's exact text, until the token expires
   * (the signature, issuer, audience and key of that text cannot change). Only the signature
   * work is saved: the session is checked for revocation on every request all the same.
   * Oldest first out when full.
   */
  const verified = new Map<string, VerifiedAccessToken>();
  async function verifiedAccessToken(token: string, now: Date): Promise<VerifiedAccessToken | null> {
    const cached = verified.get(token);
    if (cached) {
      if (now.getTime() < cached.expiresAt.getTime()) return cached;
      verified.delete(token);
      return null;
    }
    const claims = await verifyAccessToken(token, deps.keys, now);
    if (claims) setBounded(verified, token, claims, MAX_VERIFIED_ACCESS_TOKENS);
    return claims;
  }

  async function verifyJwt(token: string, clientIp: string | null): Promise<Principal | null> {
    const now = deps.clock.now();
    let issuer: string | undefined;
    if (verified.has(token)) {
      issuer = ACCESS_TOKEN_ISSUER;
    } else {
      try {
        issuer = decodeJwt(token).iss;
      } catch {
        return null;
      }
    }
    if (issuer === ACCESS_TOKEN_ISSUER) {
      const claims = await verifiedAccessToken(token, now);
      if (!claims || (await deps.revocations.isRevoked(claims.sessionId))) return null;
      return {
        kind: 'user',
        userId: claims.userId,
        subject: `user:${claims.userId}`,
        roles: claims.roles,
        scopes: claims.scopes,
        plan: claims.plan,
        sessionId: claims.sessionId,
        apiKeyId: null,
        clientIp,
        credentialExpiresAt: claims.expiresAt.toISOString(),
      };
    }
    if (deps.oidc.handles(issuer)) {
      try {
        return await deps.oidc.verify(token, issuer!, now, clientIp);
      } catch (error) {
        deps.logger.warn({ err: error, issuer }, 'OIDC key set unavailable');
        return null;
      }
    }
    return null;
  }

  return {
    /**
     * Whether the request presents an access token verified before: checking it again is one
     * Redis read (its session), nothing a credential guesser could spend.
     */
    verifiedBefore(headers: { get(name: string): string | null }): boolean {
      const credential = extractCredential(headers);
      return credential.kind === 'jwt' && verified.has(credential.token);
    },
    /** Anonymous at once, with no promise to wait on, when the request presents no credential (most public traffic). */
    authenticate(headers: { get(name: string): string | null }, clientIp: string | null): Principal | Promise<Principal> {
      const credential = extractCredential(headers);
      return credential.kind === 'none' ? anonymousPrincipal(clientIp) : authenticateCredential(credential, clientIp);
    },
  };

  async function authenticateCredential(credential: Exclude<Credential, { kind: 'none' }>, clientIp: string | null): Promise<Principal> {
    let principal: Principal | null;
    switch (credential.kind) {
      case 'invalid':
        deps.logger.info({ reason: credential.reason }, 'credential rejected');
        throw rejected();
      case 'jwt':
        principal = await verifyJwt(credential.token, clientIp).catch(cannotCheck);
        break;
      case 'apiKey':
        principal = await deps.apiKeys.resolve(credential.key, clientIp).catch(cannotCheck);
        break;
    }
    if (!principal) {
      deps.logger.info({ credential: credential.kind }, 'credential rejected');
      throw rejected();
    }
    return principal;
  }
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
