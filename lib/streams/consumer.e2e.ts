import { randomBytes } from 'node:crypto';

import { afterAll, describe, expect, it, vi } from 'vitest';

import { testEnv } from '../../test/env.js';
import { createLogger } from '../logger.js';
import { connectRedis, deleteKeysWithPrefix } from '../redis.js';
import { startStreamConsumer, type StreamEntry } from './consumer.js';

const keyPrefix = `tstream${randomBytes(4).toString('hex')}:`;
const logger = createLogger({ name: 'test', level: 'silent' });
const SIGNAL = { timeout: 30_000, interval: 50 };

afterAll(() => deleteKeysWithPrefix(testEnv.redisUrl, keyPrefix));

describe('startStreamConsumer on a client with a keyPrefix', () => {
  it('creates its consumer group on the prefixed stream (ioredis does not prefix XGROUP) and consumes it', async () => {
    const redis = await connectRedis({ url: testEnv.redisUrl, keyPrefix });
    const raw = await connectRedis({ url: testEnv.redisUrl, keyPrefix: '' });
    const handled: StreamEntry[] = [];
    const consumer = startStreamConsumer({
      redis,
      stream: 'events',
      group: 'counters',
      logger,
      blockMs: 200,
      retryMs: 50,
      handle: async (entries) => {
        handled.push(...entries);
      },
    });
    try {
      await vi.waitFor(async () => expect(await raw.exists(`${keyPrefix}events`)).toBe(1), SIGNAL);
      const groups = (await raw.xinfo('GROUPS', `${keyPrefix}events`)) as unknown[][];
      expect(groups.map((group) => group[1])).toEqual(['counters']);
      // Nothing was created under the bare name (which other deployments' prefixes could not see).
      expect(await raw.exists('events')).toBe(0);

      await redis.xadd('events', '*', 'userId', 'u1', 'tokens', '7');
      await vi.waitFor(() => expect(handled.map((entry) => entry.fields)).toEqual([{ userId: 'u1', tokens: '7' }]), SIGNAL);
      // Acknowledged once handled: nothing is left pending in the prefixed stream's group.
      await vi.waitFor(async () => expect(((await raw.xpending(`${keyPrefix}events`, 'counters')) as unknown[])[0]).toBe(0), SIGNAL);
    } finally {
      await consumer.stop();
      redis.disconnect();
      raw.disconnect();
    }
  });
});
