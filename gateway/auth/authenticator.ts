import { decodeJwt } from 'jose';
import { ACCESS_TOKEN_ISSUER, verifyAccessToken, type AccessTokenVerificationKeys } from '../../lib/auth/access-token.js';
import { anonymousPrincipal, type Principal } from '../../lib/auth/principal.js';
import type { SessionRevocations } from '../../lib/auth/revocation.js';
import type { Clock } from '../../lib/clock.js';
import { graphqlError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { ApiKeyLookupUnavailable, type ApiKeyResolver } from './api-keys.js';
import { extractCredential } from './credentials.js';
import type { createOidcVerifier } from './oidc.js';

/** Every credential failure looks the same to the client: which check failed is logged only. */
const rejected = () => graphqlError('UNAUTHENTICATED', 'Invalid or expired credentials', { http: { status: 401 } });

export interface AuthenticatorDeps {
  keys: AccessTokenVerificationKeys;
  revocations: SessionRevocations;
  oidc: ReturnType<typeof createOidcVerifier>;
  apiKeys: ApiKeyResolver;
  clock: Clock;
  logger: Logger;
}

/**
 * Establishes who sent a request, once, at the gateway. No credential: anonymous.
 * Any credential that does not verify (malformed, expired, `alg: none`, wrong key,
 * HS/ES confusion, revoked session or key, unknown issuer): UNAUTHENTICATED, HTTP 401.
 */
export function createAuthenticator(deps: AuthenticatorDeps) {
  async function verifyJwt(token: string, clientIp: string | null): Promise<Principal | null> {
    let issuer: string | undefined;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      return null;
    }
    const now = deps.clock.now();
    if (issuer === ACCESS_TOKEN_ISSUER) {
      const claims = await verifyAccessToken(token, deps.keys, now);
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
    async authenticate(headers: { get(name: string): string | null }, clientIp: string | null): Promise<Principal> {
      const credential = extractCredential(headers);
      let principal: Principal | null;
      switch (credential.kind) {
        case 'none':
          return anonymousPrincipal(clientIp);
        case 'invalid':
          deps.logger.info({ reason: credential.reason }, 'credential rejected');
          throw rejected();
        case 'jwt':
          principal = await verifyJwt(credential.token, clientIp);
          break;
        case 'apiKey':
          try {
            principal = await deps.apiKeys.resolve(credential.key, clientIp);
          } catch (error) {
            if (!(error instanceof ApiKeyLookupUnavailable)) throw error;
            deps.logger.warn({ err: error }, 'API key lookup unavailable');
            throw graphqlError('SUBGRAPH_UNAVAILABLE', 'Cannot check API keys right now; retry shortly', {
              serviceName: 'users',
              http: { status: 503 },
            });
          }
          break;
      }
      if (!principal) {
        deps.logger.info({ credential: credential.kind }, 'credential rejected');
        throw rejected();
      }
      return principal;
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
