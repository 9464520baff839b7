import { setTimeout as sleep } from 'node:timers/promises';

import type { GraphQLResolveInfo } from 'graphql';
import { getGraphQLRateLimiter, type Identity, type Store } from 'graphql-rate-limit';

import { graphqlError } from '../../../lib/errors.js';
import type { Redis } from '../../../lib/redis.js';
import { sha256Hex } from './bearer-secrets.js';

/** At most `max` attempts in any `windowSeconds` (a sliding window). */
export interface AttemptLimit {
  max: number;
  windowSeconds: number;
}

/**
 * What is counted, and per what: a client IP, an account's normalised email, or both (an
 * account as tried from one address).
 */
export type AttemptKind =
  | 'login:ip'
  | 'login:account-ip'
  | 'login:account'
  | 'register:ip'
  | 'password-reset:ip'
  | 'password-reset:account';

/**
 * Progressive delay on an account under attack (OWASP authentication cheat sheet): the
 * first `free` failed sign-ins in the account's window cost nothing; from then on each
 * attempt waits before its password is checked, `firstMs` doubling with every further
 * failure, up to `maxMs` (250 ms, 0.5 s, 1 s, 2 s, then 4 s per attempt). A delay rather than
 * a refusal, so strangers failing on an account slow its owner down by at most `maxMs` but
 * never lock them out (only the per-account ceiling does, far higher); 4 s keeps a sign-in
 * well inside the gateway's subgraph timeout while costing a serial guesser an hour per 900.
 */
export const PROGRESSIVE_DELAY = { free: 3, firstMs: 250, maxMs: 4_000 } as const;

/** The wait before checking a password on an account that has `failures` recent failed attempts. */
export function progressiveDelayMs(failures: number): number {
  if (failures < PROGRESSIVE_DELAY.free) return 0;
  return Math.min(PROGRESSIVE_DELAY.maxMs, PROGRESSIVE_DELAY.firstMs * 2 ** (failures - PROGRESSIVE_DELAY.free));
}

const KEY_PREFIX = 'auth:ratelimit:';
const LIMITED_MESSAGE = 'Too many attempts; retry later';

/**
 * Appends the attempt in the same atomic step as it reads the log (when there is room), and
 * returns the log as it was before. graphql-rate-limit reads, decides, then writes back;
 * between its read and its write other requests would read the same count, so a burst of
 * parallel guesses would all pass. Recording here closes that gap, leaves the write-back
 * nothing to do, and keeps the log at most `max` long: the oldest entry is then exactly when
 * the next attempt will be allowed. Rejected attempts are not recorded, so a lock-out ends
 * one window after the last allowed attempt however hard someone keeps trying.
 */
const READ_AND_RECORD = `
local now, window, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
while true do
  local oldest = redis.call('LINDEX', KEYS[1], 0)
  if not oldest or tonumber(oldest) + window > now then break end
  redis.call('LPOP', KEYS[1])
end
local seen = redis.call('LRANGE', KEYS[1], 0, -1)
if #seen < max then
  redis.call('RPUSH', KEYS[1], ARGV[1])
  redis.call('PEXPIRE', KEYS[1], window)
end
return seen`;

/** graphql-rate-limit's store over ioredis: one Redis list of millisecond timestamps per kind and subject. */
class RedisAttemptLog implements Store {
  constructor(
    private readonly redis: Redis,
    private readonly limits: Record<AttemptKind, AttemptLimit>,
  ) {}

  private key(identity: Identity) {
    return `${KEY_PREFIX}${identity.fieldIdentity}:${identity.contextIdentity}`;
  }

  async getForIdentity(identity: Identity): Promise<number[]> {
    const { max, windowSeconds } = this.limits[identity.fieldIdentity as AttemptKind];
    const seen = (await this.redis.eval(READ_AND_RECORD, 1, this.key(identity), Date.now(), windowSeconds * 1000, max)) as string[];
    return seen.map(Number);
  }

  setForIdentity(): void {}

  /** The log without recording anything. */
  async peek(identity: Identity): Promise<number[]> {
    return (await this.redis.lrange(this.key(identity), 0, -1)).map(Number);
  }

  /**
   * Takes back one recorded attempt: the newest, which under concurrency may be another
   * request's a few milliseconds younger than ours; the count is what matters.
   */
  async dropNewest(identity: Identity): Promise<void> {
    await this.redis.rpop(this.key(identity));
  }

  async clear(identity: Identity): Promise<void> {
    await this.redis.del(this.key(identity));
  }
}

/**
 * Brute-force limits on the credential endpoints (login, register, password reset), kept in
 * Redis so that every replica of the users subgraph counts together.
 */
export function createBruteForceLimits(redis: Redis, limits: Record<AttemptKind, AttemptLimit>) {
  const log = new RedisAttemptLog(redis, limits);
  // Subjects (emails, IPs) are hashed so Redis key names carry no personal data.
  const identify = (subject: string) => sha256Hex(subject).slice(0, 32);
  const limiter = getGraphQLRateLimiter({ identifyContext: identify, store: log, formatError: () => LIMITED_MESSAGE });

  const identity = (kind: AttemptKind, subject: string): Identity => ({ contextIdentity: identify(subject), fieldIdentity: kind });

  /**
   * Counts one attempt of `kind` by `subject`; throws RATE_LIMITED, with `retryAfter` in whole
   * seconds until the oldest counted attempt leaves the window, when the limit is reached.
   */
  async function consume(kind: AttemptKind, subject: string): Promise<void> {
    const { max, windowSeconds } = limits[kind];
    // The limiter is shaped for field resolvers and keys its log by field name; one kind
    // can be counted from several fields (login and changePassword), hence a name of our own.
    const field = { parent: undefined, args: {}, context: subject, info: { fieldName: kind } as GraphQLResolveInfo };
    const refused = await limiter(field, { max, window: `${windowSeconds}s` });
    if (refused === undefined) return;
    const [oldest] = await log.peek(identity(kind, subject));
    const untilFree = oldest === undefined ? 0 : oldest + windowSeconds * 1000 - Date.now();
    throw graphqlError('RATE_LIMITED', refused, { retryAfter: Math.max(1, Math.ceil(untilFree / 1000)) });
  }

  /** Takes back one attempt counted by `consume` (one that turned out not to be a failure, or was not made). */
  const release = (kind: AttemptKind, subject: string) => log.dropNewest(identity(kind, subject));

  return {
    consume,
    release,

    /**
     * Counts one attempt against each limit in turn; when one refuses, the attempts already
     * counted for this request are taken back, so a refused attempt counts nowhere.
     */
    async consumeAll(attempts: Array<[AttemptKind, string]>): Promise<void> {
      for (let i = 0; i < attempts.length; i++) {
        try {
          await consume(...attempts[i]!);
        } catch (error) {
          await Promise.all(attempts.slice(0, i).map((attempt) => release(...attempt)));
          throw error;
        }
      }
    },

    /** Forgets every attempt of `kind` by `subject` (a successful sign-in from that address). */
    reset: (kind: AttemptKind, subject: string) => log.clear(identity(kind, subject)),

    /**
     * Waits as long as `progressiveDelayMs` says for the attempts of `kind` by `subject` in
     * its window before the one just counted (which `consume` recorded).
     */
    async slowDown(kind: AttemptKind, subject: string): Promise<void> {
      const cutoff = Date.now() - limits[kind].windowSeconds * 1000;
      const recent = (await log.peek(identity(kind, subject))).filter((at) => at > cutoff).length;
      const delay = progressiveDelayMs(recent - 1);
      if (delay > 0) await sleep(delay);
    },
  };
}

export type BruteForceLimits = ReturnType<typeof createBruteForceLimits>;
