import { looksLikeApiKey } from '../../lib/auth/api-key-format.js';

export type Credential = { kind: 'none' } | { kind: 'apiKey'; key: string } | { kind: 'jwt'; token: string } | { kind: 'invalid'; reason: string };

/** @default 8_192 // bytes: longer than any token we issue or accept, shorter than abuse. */
const MAX_CREDENTIAL_LENGTH = 8_192;

/**
 * The one credential a request presents: `Authorization: Bearer <jwt | api key>` or
 * `x-api-key: <api key>`. Presenting both, another scheme, or an oversized value is invalid
 * rather than ignored, so a client never silently runs as anonymous.
 */
export function extractCredential(headers: { get(name: string): string | null }): Credential {
  const authorization = headers.get('authorization');
  const apiKeyHeader = headers.get('x-api-key');
  if (authorization !== null && apiKeyHeader !== null) return { kind: 'invalid', reason: 'send either Authorization or x-api-key, not both' };
  if (apiKeyHeader !== null) {
    const key = apiKeyHeader.trim();
    return key.length > 0 && key.length <= MAX_CREDENTIAL_LENGTH ? { kind: 'apiKey', key } : { kind: 'invalid', reason: 'malformed API key' };
  }
  if (authorization === null) return { kind: 'none' };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match || match[1]!.length > MAX_CREDENTIAL_LENGTH) return { kind: 'invalid', reason: 'expected Authorization: Bearer <token>' };
  const value = match[1]!;
  return looksLikeApiKey(value) ? { kind: 'apiKey', key: value } : { kind: 'jwt', token: value };
}
