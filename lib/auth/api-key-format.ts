import { createHash, randomBytes } from 'node:crypto';

/**
 * Partner API keys look like `lbk_<12 hex>_<43 base64url>`: the first part (`lbk_<12 hex>`)
 * is the visible prefix, unique per key, used to find it; the whole key is stored only as
 * its SHA-256 (a key has 256 bits of entropy, so a slow hash adds nothing).
 */
const API_KEY_PATTERN = /^(lbk_[0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

export interface ApiKeyParts {
  prefix: string;
  /** SHA-256 of the whole key, hex. */
  hash: string;
}

export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex');

export function generateApiKey(): ApiKeyParts & { key: string } {
  const prefix = `lbk_${randomBytes(6).toString('hex')}`;
  const key = `${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: hashApiKey(key) };
}

/** The parts of a well-formed key, or null for anything else (without hashing junk). */
export function parseApiKey(candidate: string): ApiKeyParts | null {
  const match = API_KEY_PATTERN.exec(candidate);
  return match ? { prefix: match[1]!, hash: hashApiKey(candidate) } : null;
}

export const looksLikeApiKey = (candidate: string) => candidate.startsWith('lbk_');
