import { randomUUID } from 'node:crypto';

import { errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';

import { ACCESS_TOKEN_ALG, type SigningKeys } from './keys.js';

export const ACCESS_TOKEN_ISSUER = 'lotabots';
export const ACCESS_TOKEN_AUDIENCE = 'lotabots-api';
/** RFC 9068 media type in the `typ` header, so an ID token or other JWT is never taken for one. */
const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessTokenClaims {
  userId: string;
  roles: string[];
  scopes: string[];
  plan: string;
  /** The refresh-token family this token was issued from (revoking it revokes the token). */
  sessionId: string;
}

export interface VerifiedAccessToken extends AccessTokenClaims {
  expiresAt: Date;
}

/** What a verifier needs: the issuer's public key and `kid`, and the longest lifetime it issues. */
export type AccessTokenVerificationKeys = Pick<SigningKeys, 'publicKey' | 'keyId'> & { maxLifetimeSeconds: number };

/**
 * @default 30 // s an `iat` may lie in the future: clocks of the issuing and verifying hosts
 * drift apart by a few seconds (NTP keeps them well under this); more means a forged or
 * misconfigured issuer.
 */
export const ACCESS_TOKEN_CLOCK_SKEW_SECONDS = 30;

/** Issues short-lived access tokens (users subgraph only: it holds the private key). */
export function createAccessTokenIssuer(keys: SigningKeys, lifetimeSeconds: number, now: () => Date) {
  if (!keys.privateKey) throw new Error('access tokens need the private signing key');
  const privateKey = keys.privateKey;
  return {
    lifetimeSeconds,
    async issue(claims: AccessTokenClaims): Promise<{ token: string; expiresAt: Date }> {
      const issuedAt = Math.floor(now().getTime() / 1000);
      const expiresAt = issuedAt + lifetimeSeconds;
      const token = await new SignJWT({ roles: claims.roles, scope: claims.scopes.join(' '), plan: claims.plan, sid: claims.sessionId })
        .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid: keys.keyId, typ: ACCESS_TOKEN_TYPE })
        .setIssuer(ACCESS_TOKEN_ISSUER)
        .setAudience(ACCESS_TOKEN_AUDIENCE)
        .setSubject(claims.userId)
        .setJti(randomUUID())
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAt)
        .sign(privateKey);
      return { token, expiresAt: new Date(expiresAt * 1000) };
    },
  };
}

export type AccessTokenIssuer = ReturnType<typeof createAccessTokenIssuer>;

/**
 * Verifies a LotaBots access token: ES256 only (so `alg: none` and HS256-with-the-public-key
 * are refused), our issuer and audience, `typ` at+jwt, `kid` the configured key's, not
 * expired, not issued in the future (beyond the clock skew) and not living longer than the
 * issuer's configured lifetime (a token minted with a leaked key for a year is refused).
 * Returns null for anything that is not a valid token; never throws for bad input.
 */
export async function verifyAccessToken(token: string, keys: AccessTokenVerificationKeys, now: Date): Promise<VerifiedAccessToken | null> {
  let payload: JWTPayload;
  let kid: string | undefined;
  try {
    ({ payload, protectedHeader: { kid } } = await jwtVerify(token, keys.publicKey, {
      algorithms: [ACCESS_TOKEN_ALG],
      issuer: ACCESS_TOKEN_ISSUER,
      audience: ACCESS_TOKEN_AUDIENCE,
      typ: ACCESS_TOKEN_TYPE,
      currentDate: now,
      requiredClaims: ['sub', 'exp', 'iat', 'sid'],
    }));
  } catch (error) {
    if (error instanceof errors.JOSEError || error instanceof TypeError) return null;
    throw error;
  }
  if (kid !== keys.keyId) return null;
  const { iat, exp } = payload as { iat: number; exp: number };
  if (iat > now.getTime() / 1000 + ACCESS_TOKEN_CLOCK_SKEW_SECONDS || exp - iat > keys.maxLifetimeSeconds) return null;
  const { sub, roles, scope, plan, sid } = payload as JWTPayload & { roles?: unknown; scope?: unknown; plan?: unknown; sid?: unknown };
  if (typeof sub !== 'string' || typeof sid !== 'string' || typeof scope !== 'string' || typeof plan !== 'string') return null;
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) return null;
  return { userId: sub, roles, scopes: scope.split(' ').filter(Boolean), plan, sessionId: sid, expiresAt: new Date(payload.exp! * 1000) };
}
