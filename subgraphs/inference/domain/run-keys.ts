import { createHash } from 'node:crypto';

import { badUserInput } from '../../../lib/errors.js';
import { SAFETY_TTL_SECONDS } from '../../../lib/inference/contract.js';
import type { Redis } from '../../../lib/redis.js';
import type { SubmitInferenceInput } from '../__generated__/resolvers-types.js';

/** What a client may use as `runInference`'s idempotency key. */
export const IDEMPOTENCY_KEY = /^[\w.:-]{1,128}$/;

/**
 * @default 86_400 // s a run's idempotency key names its job: as long as an unfinished job's
 * event log may live, so a retry never submits twice a job whose events it could still stream.
 */
export const RUN_KEY_TTL_SECONDS = SAFETY_TTL_SECONDS;

/** Per user: the same key from two users names two runs. */
export const runKeyOf = (userId: string, idempotencyKey: string) => `inference:run:${userId}:${idempotencyKey}`;

/** The input as GraphQL coerced it (fields in the input type's order, defaults filled in), hashed. */
export const fingerprintOf = (input: SubmitInferenceInput) => createHash('sha256').update(JSON.stringify(input)).digest('base64url');

/**
 * The job of the caller's earlier run under `key`, or null once this call holds the key for
 * `jobId` (for RUN_KEY_TTL_SECONDS). The same key with another input: BAD_USER_INPUT.
 */
export async function claimRunKey(redis: Redis, key: string, jobId: string, fingerprint: string): Promise<string | null> {
  for (;;) {
    const claimed = await redis.set(key, `${jobId} ${fingerprint}`, 'EX', RUN_KEY_TTL_SECONDS, 'NX');
    if (claimed !== null) return null;
    const earlier = await redis.get(key);
    // Expired between the two commands: claim it again.
    if (earlier === null) continue;
    const [earlierJobId, earlierFingerprint] = earlier.split(' ');
    if (earlierFingerprint !== fingerprint) {
      throw badUserInput('This idempotencyKey was used with a different request', { argument: 'idempotencyKey' });
    }
    return earlierJobId!;
  }
}
