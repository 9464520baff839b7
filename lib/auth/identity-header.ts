import { jwtVerify, SignJWT } from 'jose';

import { setBounded } from '../bounded-map.js';
import type { Principal } from './principal.js';

/** The header that carries the caller's identity from the gateway to subgraphs. */
export const IDENTITY_HEADER = 'x-lotabots-identity';

const ISSUER = 'lotabots-gateway';
const AUDIENCE = 'lotabots-subgraphs';
/**
 * @default 60 // seconds: long enough for any subgraph call of one request, short enough
 * that a captured header is soon useless.
 */
const LIFETIME_SECONDS = 60;
/**
 * @default 30_000 // ms a signed header is reused for the same principal: well inside its
 * lifetime, so a subgraph never receives one that is about to expire.
 */
const REUSE_MS = 30_000;
/**
 * @default 1024 // principals whose current header is kept; beyond, the longest-held one is
 * dropped (and signed again if it calls again). About 1 KB each.
 */
export const IDENTITY_HEADER_CACHE_SIZE = 1024;

/**
 * Signs and verifies the identity header: a compact JWS (HS256) over the principal, keyed
 * with IDENTITY_SIGNING_SECRET, which only the gateway and the subgraphs hold. A subgraph
 * answers nothing without a valid one, so a subgraph port reached directly cannot be used
 * to pose as someone else.
 */
export function createIdentitySigner(secret: Uint8Array, now: () => Date = () => new Date()) {
  /** By the principal's JSON, which is exactly what the header's `principal` claim holds. */
  const recent = new Map<string, { header: Promise<string>; signedAt: number }>();
  /** Headers verified before, by their text: the principal each carries and its `exp` (s). */
  const verified = new Map<string, { principal: Principal; expiresAt: number }>();
  const signer = {
    async sign(principal: Principal): Promise<string> {
      const issuedAt = Math.floor(now().getTime() / 1000);
      return new SignJWT({ principal: principal as unknown as Record<string, unknown> })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + LIFETIME_SECONDS)
        .sign(secret);
    },
    /**
     * The principal, or null when the header is missing, forged, expired or malformed. A header
     * verified before is only checked for expiry again, as jwtVerify does (expired from its
     * `exp` second on): the gateway sends a caller's same header for REUSE_MS, and its
     * signature, issuer and audience cannot have changed since. That spares each subgraph
     * request after the first an HMAC on the thread pool (WebCrypto) and the event-loop turn
     * its answer waits for. At most IDENTITY_HEADER_CACHE_SIZE are kept, the oldest dropped first.
     */
    async verify(header: string | null | undefined): Promise<Principal | null> {
      if (!header) return null;
      const at = now();
      const known = verified.get(header);
      if (known) {
        if (Math.floor(at.getTime() / 1000) < known.expiresAt) return known.principal;
        verified.delete(header);
        return null;
      }
      try {
        const { payload } = await jwtVerify(header, secret, {
          algorithms: ['HS256'],
          issuer: ISSUER,
          audience: AUDIENCE,
          currentDate: at,
        });
        const principal = payload.principal as Principal;
        if (typeof payload.exp === 'number') setBounded(verified, header, { principal, expiresAt: payload.exp }, IDENTITY_HEADER_CACHE_SIZE);
        return principal;
      } catch {
        return null;
      }
    },
    /**
     * A valid header for this principal, signed again only once the last one for an equal
     * principal is REUSE_MS old: every request of the same caller (a fresh but equal principal
     * object each time) shares one signature instead of paying an HMAC per request, a long
     * subscription's per-event entity fetches always carry an unexpired header, and a
     * WebSocket connection's operations share one. Equal means same JSON, so the claims of a
     * reused header are exactly this principal's; the request id is not in the header.
     */
    current(principal: Principal): Promise<string> {
      const at = now().getTime();
      const key = JSON.stringify(principal);
      const cached = recent.get(key);
      if (cached && at - cached.signedAt < REUSE_MS) return cached.header;
      const header = signer.sign(principal);
      // Re-inserted, so the Map's order stays the order of signing: the first key is the oldest.
      setBounded(recent, key, { header, signedAt: at }, IDENTITY_HEADER_CACHE_SIZE);
      header.catch(() => {
        if (recent.get(key)?.header === header) recent.delete(key);
      });
      return header;
    },
  };
  return signer;
}

export type IdentitySigner = ReturnType<typeof createIdentitySigner>;
