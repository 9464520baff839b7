import { createHash } from 'node:crypto';

import { GraphQLError } from 'graphql';

import type { Principal } from '../../lib/auth/principal.js';
import { setBounded } from '../../lib/bounded-map.js';
import { graphqlError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { createReadCache } from '../../lib/read-cache.js';
import type { Redis } from '../../lib/redis.js';
import type { GatewayConfig } from '../config.js';
import type { Authenticator } from './authenticator.js';
import { extractCredential } from './credentials.js';

const KEY_PREFIX = 'auth:failures:ip:';
/** @default 4_096 // client addresses whose key (and count under the limit) is kept: a SHA-256 and a read per request saved for the busy ones. */
const MAX_CACHED_KEYS = 4_096;
/**
 * @default 1_000 // ms an address's count, read under the limit, is taken as such without
 * reading it again. A failure through this process forgets it at once; failures through
 * other gateway processes reach this one's gate within this time.
 */
export const UNDER_LIMIT_CACHE_MS = 1_000;

/** One more failure in the address's window; the window starts with its first failure. */
const RECORD_FAILURE = `
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end`;

/**
 * Failed credentials per client IP: past `limit.max` failures in a window (fixed, starting at
 * the first failure), every request from that address that presents a credential is refused
 * with RATE_LIMITED (HTTP 429, `Retry-After`) until the window ends, before the credential is
 * looked at (but for an access token verified before, whose session is read meanwhile): no API
 * key lookup at the users subgraph, no cache entry for a guessed key, no JWKS refetch, no
 * signature verification. Requests without a credential are not affected (they cost nothing
 * to check).
 *
 * The check (one GET; a PTTL more to refuse) and the count (on failure) are separate round
 * trips, so requests already in flight when the limit is reached still finish: the overshoot
 * is bounded by one address's concurrency, which is all this needs to bound guessing cost.
 * A count read under the limit is kept UNDER_LIMIT_CACHE_MS, so a busy address makes one read
 * a second, not one per request; a failure recorded here forgets it, so a guesser meets the
 * Redis read again at its next request (failures recorded by other processes count here
 * within UNDER_LIMIT_CACHE_MS: at most one more guess per process and interval).
 * Redis failures open the gate (logged): the authenticator reports an unavailable Redis on
 * its own.
 */
export function withFailedCredentialLimit(
  authenticator: Authenticator,
  deps: { redis: Redis; limit: GatewayConfig['AUTH_FAILURE_LIMIT_PER_IP']; logger: Logger },
): Authenticator {
  const { redis, limit, logger } = deps;
  // Addresses are hashed so Redis key names carry no personal data; oldest first out when full.
  const keys = new Map<string | null, string>();
  const keyOf = (clientIp: string | null) => {
    let key = keys.get(clientIp);
    if (key === undefined) {
      key = `${KEY_PREFIX}${createHash('sha256').update(clientIp ?? 'unknown').digest('hex').slice(0, 32)}`;
      setBounded(keys, clientIp, key, MAX_CACHED_KEYS);
    }
    return key;
  };

  const underLimit = createReadCache<string, number>({ ttlMs: UNDER_LIMIT_CACHE_MS, max: MAX_CACHED_KEYS });
  const readFailures = async (key: string) => Number((await redis.get(key)) ?? 0);
  const isUnder = (failures: number) => failures < limit.max;

  /** No promise for an address whose count was read under the limit within UNDER_LIMIT_CACHE_MS. */
  const refuseIfOverLimit = (key: string): void | Promise<void> => (underLimit.get(key) === undefined ? readAndRefuse(key) : undefined);

  async function readAndRefuse(key: string): Promise<void> {
    let ttlMs: number;
    try {
      // Almost every request is under the limit: one GET decides that; the window's rest is read only to refuse.
      if (isUnder(await underLimit.read(key, () => readFailures(key), isUnder))) return;
      ttlMs = await redis.pttl(key);
    } catch (error) {
      logger.warn({ err: error }, 'failed-credential limit unavailable; not enforced for this request');
      return;
    }
    const retryAfter = Math.max(1, Math.ceil((ttlMs > 0 ? ttlMs : limit.windowSeconds * 1000) / 1000));
    throw graphqlError('RATE_LIMITED', 'Too many failed credentials from this address; retry later', {
      retryAfter,
      http: { status: 429, headers: { 'retry-after': String(retryAfter) } },
    });
  }

  async function recordFailure(key: string): Promise<void> {
    await redis.eval(RECORD_FAILURE, 1, key, limit.windowSeconds * 1000).catch((error: unknown) => {
      logger.warn({ err: error }, 'failed-credential limit unavailable; failure not counted');
    });
    // After the count: a read under way until now may have missed it, and is not kept.
    underLimit.forget(key);
  }

  return {
    verifiedBefore: authenticator.verifiedBefore,
    authenticate(headers, clientIp) {
      return extractCredential(headers).kind === 'none' ? authenticator.authenticate(headers, clientIp) : authenticateGated(headers, clientIp);
    },
  };

  async function authenticateGated(headers: Parameters<Authenticator['authenticate']>[0], clientIp: string | null): Promise<Principal> {
    const key = keyOf(clientIp);
    // An access token verified before is checked alongside the gate's read (two Redis reads
    // in one wait instead of two); the gate still decides first.
    const checking = authenticator.verifiedBefore(headers) ? Promise.resolve(authenticator.authenticate(headers, clientIp)) : null;
    // Refused by the gate: that check's outcome is dropped, not an unhandled rejection.
    checking?.catch(() => {});
    await refuseIfOverLimit(key);
    try {
      return await (checking ?? authenticator.authenticate(headers, clientIp));
    } catch (error) {
      if (error instanceof GraphQLError && error.extensions.code === 'UNAUTHENTICATED') await recordFailure(key);
      throw error;
    }
  }
}
