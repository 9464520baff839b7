import { z } from 'zod';

import type { Logger } from '../../../lib/logger.js';
import type { Redis } from '../../../lib/redis.js';

/** One cached completion: its tokens (replayed as the cached job's token events), text and counts. */
export interface CachedCompletion {
  tokens: string[];
  text: string;
  promptTokens: number;
  completionTokens: number;
}

const cachedCompletionSchema = z.object({
  tokens: z.array(z.string()),
  text: z.string(),
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
});

/** `inference:cache:<sha256 of the request>` (see domain/request.ts cacheKeyOf). */
export const responseCacheKey = (requestHash: string) => `inference:cache:${requestHash}`;

/**
 * The response cache of deterministic requests, in Redis for `ttlSeconds` (0: off). A cache
 * is an optimisation: a Redis that cannot be read or written is a miss, logged, never an error.
 */
export function createResponseCache(deps: { redis: Redis; ttlSeconds: number; logger: Logger }) {
  return {
    get enabled() {
      return deps.ttlSeconds > 0;
    },
    async get(requestHash: string): Promise<CachedCompletion | null> {
      if (deps.ttlSeconds === 0) return null;
      try {
        const raw = await deps.redis.get(responseCacheKey(requestHash));
        if (raw === null) return null;
        const parsed = cachedCompletionSchema.safeParse(JSON.parse(raw));
        return parsed.success ? parsed.data : null;
      } catch (error) {
        deps.logger.warn({ err: error }, 'response cache read failed');
        return null;
      }
    },
    async put(requestHash: string, completion: CachedCompletion): Promise<void> {
      if (deps.ttlSeconds === 0) return;
      try {
        await deps.redis.set(responseCacheKey(requestHash), JSON.stringify(completion), 'EX', deps.ttlSeconds);
      } catch (error) {
        deps.logger.warn({ err: error }, 'response cache write failed');
      }
    },
  };
}

export type ResponseCache = ReturnType<typeof createResponseCache>;
