import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import { z } from 'zod';

import type { Principal } from '../../lib/auth/principal.js';

export const oidcIssuerSchema = z.object({
  /** Exact `iss` of the tokens. */
  issuer: z.string().min(1),
  jwksUri: z.url(),
  /** Required `aud`. */
  audience: z.string().min(1),
  algorithms: z.array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'])).default(['RS256', 'ES256']),
  /** Claim holding scopes: a space-separated string (OAuth `scope`) or an array (`scp`). */
  scopeClaim: z.string().default('scope'),
  rolesClaim: z.string().default('roles'),
  /** Plan tier given to this issuer's callers (budgets and quotas). */
  plan: z.string().default('free'),
});

export type OidcIssuer = z.output<typeof oidcIssuerSchema>;

/**
 * Verifies JWTs from outside OIDC issuers against their JWKS. jose caches each key set,
 * refetches it when a token names an unknown `kid` (at most once per cooldown, so a flood
 * of made-up kids cannot hammer the issuer) and bounds each fetch with a timeout.
 */
export function createOidcVerifier(issuers: OidcIssuer[], options: { cooldownMs: number; cacheMaxAgeMs: number; timeoutMs: number }) {
  const byIssuer = new Map(
    issuers.map((issuer) => [
      issuer.issuer,
      {
        issuer,
        keySet: createRemoteJWKSet(new URL(issuer.jwksUri), {
          cooldownDuration: options.cooldownMs,
          cacheMaxAge: options.cacheMaxAgeMs,
          timeoutDuration: options.timeoutMs,
        }),
      },
    ]),
  );
  return {
    handles: (iss: string | undefined) => iss !== undefined && byIssuer.has(iss),
    /** The principal, or null when the token does not verify. Throws only when the JWKS cannot be fetched. */
    async verify(token: string, iss: string, now: Date, clientIp: string | null): Promise<Principal | null> {
      const entry = byIssuer.get(iss);
      if (!entry) return null;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, entry.keySet, {
          issuer: entry.issuer.issuer,
          audience: entry.issuer.audience,
          algorithms: entry.issuer.algorithms,
          currentDate: now,
          requiredClaims: ['sub', 'exp'],
        }));
      } catch (error) {
        if (error instanceof errors.JWKSTimeout || (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC')) throw error;
        if (error instanceof errors.JOSEError || error instanceof TypeError) return null;
        throw error;
      }
      return {
        kind: 'oidc',
        userId: null,
        subject: `oidc:${iss}#${payload.sub}`,
        roles: stringList(payload[entry.issuer.rolesClaim]),
        scopes: stringList(payload[entry.issuer.scopeClaim]),
        plan: entry.issuer.plan,
        sessionId: null,
        apiKeyId: null,
        clientIp,
        credentialExpiresAt: new Date(payload.exp! * 1000).toISOString(),
      };
    },
  };
}

function stringList(claim: unknown): string[] {
  if (typeof claim === 'string') return claim.split(' ').filter(Boolean);
  if (Array.isArray(claim)) return claim.filter((v): v is string => typeof v === 'string');
  return [];
}
