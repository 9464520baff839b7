import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Bearer secrets we hand out (refresh tokens, password-reset tokens): 32 random bytes,
 * base64url. Stored only as SHA-256 hex: with 256 bits of entropy a slow hash adds nothing,
 * and a leaked table cannot be replayed.
 */
export const newBearerSecret = () => randomBytes(32).toString('base64url');

/** 32 bytes in base64url without padding. */
export const BEARER_SECRET_PATTERN = '[A-Za-z0-9_-]{43}';

export const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Compares two SHA-256 hex digests in constant time; anything that is not one never matches. */
export function sameDigest(expected: string, candidate: string): boolean {
  if (!SHA256_HEX.test(candidate) || !SHA256_HEX.test(expected)) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(candidate, 'hex'));
}
