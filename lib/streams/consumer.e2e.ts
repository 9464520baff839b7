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

  it('reads its own pending entries again only after a failed batch, and looks for idle ones at most once per blockMs while it finds none', async () => {
    const redis = await connectRedis({ url: testEnv.redisUrl, keyPrefix });
    const raw = await connectRedis({ url: testEnv.redisUrl, keyPrefix: '' });
    // The consumer's own connection, its XAUTOCLAIM and XREADGROUP counted (pending reads are those from id 0).
    const calls = { claims: 0, pendingReads: 0 };
    const duplicate = redis.duplicate.bind(redis);
    redis.duplicate = (...args: Parameters<typeof redis.duplicate>) => {
      const connection = duplicate(...args);
      const { xautoclaim, xreadgroup } = connection;
      connection.xautoclaim = ((...claimArgs: unknown[]) => {
        calls.claims++;
        return (xautoclaim as (...a: unknown[]) => unknown).apply(connection, claimArgs);
      }) as typeof connection.xautoclaim;
      connection.xreadgroup = ((...readArgs: unknown[]) => {
        if (readArgs.at(-1) === '0') calls.pendingReads++;
        return (xreadgroup as (...a: unknown[]) => unknown).apply(connection, readArgs);
      }) as typeof connection.xreadgroup;
      return connection;
    };
    const handled: string[] = [];
    let failNext = false;
    const blockMs = 1_000;
    const consumer = startStreamConsumer({
      redis,
      stream: 'batches',
      group: 'counters',
      logger,
      blockMs,
      retryMs: 50,
      handle: async (entries) => {
        if (failNext) {
          failNext = false;
          throw new Error('database away');
        }
        handled.push(...entries.map((entry) => entry.fields['n']!));
      },
    });
    try {
      await vi.waitFor(async () => expect(await raw.exists(`${keyPrefix}batches`)).toBe(1), SIGNAL);
      const startedAt = Date.now();
      for (let n = 0; n < 5; n++) {
        await redis.xadd('batches', '*', 'n', String(n));
        await vi.waitFor(() => expect(handled).toHaveLength(n + 1), SIGNAL);
      }
      // One round per entry: the pending entries were read once (at start), idle ones looked for once per blockMs.
      expect(calls.pendingReads).toBe(1);
      expect(calls.claims).toBeLessThanOrEqual(1 + Math.ceil((Date.now() - startedAt) / blockMs));

      // A failed batch stays pending and is read again, then acknowledged.
      failNext = true;
      await redis.xadd('batches', '*', 'n', '5');
      await vi.waitFor(() => expect(handled).toEqual(['0', '1', '2', '3', '4', '5']), SIGNAL);
      expect(calls.pendingReads).toBeGreaterThanOrEqual(2);
      await vi.waitFor(async () => expect(((await raw.xpending(`${keyPrefix}batches`, 'counters')) as unknown[])[0]).toBe(0), SIGNAL);
    } finally {
      await consumer.stop();
      redis.disconnect();
      raw.disconnect();
    }
  });
});
