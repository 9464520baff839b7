import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { testEnv } from '../test/env.js';
import { connectRedis, isRedisUnavailable, type Redis, sameTickReads } from './redis.js';

describe('sameTickReads', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = await connectRedis({ url: testEnv.redisUrl, keyPrefix: `test:same-tick:${randomUUID()}:` });
    await redis.set('count', '3');
    await redis.zadd('set', 1, 'a');
  });
  afterAll(() => {
    redis.disconnect();
  });

  it('sends the reads of one tick as one pipeline, each settling with its own answer', async () => {
    const pipeline = vi.spyOn(redis, 'pipeline');
    const reads = sameTickReads(redis);
    const both = Promise.all([reads.zmscore('set', 'a', 'b'), reads.get('count'), reads.get('missing')]);
    expect(await both).toEqual([['1', null], '3', null]);
    expect(pipeline).toHaveBeenCalledTimes(1);
    await reads.get('count');
    expect(pipeline).toHaveBeenCalledTimes(2);
    pipeline.mockRestore();
  });

  it('rejects only the read that failed, with the error a direct command gets', async () => {
    const reads = sameTickReads(redis);
    const [wrongType, count] = await Promise.allSettled([reads.zmscore('count', 'a'), reads.get('count')]);
    expect(wrongType).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/^WRONGTYPE/) } });
    expect(count).toEqual({ status: 'fulfilled', value: '3' });
  });

  it('rejects with an unavailable error when Redis cannot be asked', async () => {
    const closed = await connectRedis({ url: testEnv.redisUrl, keyPrefix: 'test:same-tick:closed:' });
    closed.disconnect();
    const error = await sameTickReads(closed).get('count').catch((reason: unknown) => reason);
    expect(isRedisUnavailable(error)).toBe(true);
  });
});
