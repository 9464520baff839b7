import { randomBytes, randomUUID } from 'node:crypto';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { AUTONOMY_ACTIONS_GROUP, AUTONOMY_ACTIONS_STREAM, proposeAction, type ProposedAction } from '../../../lib/autonomy/actions.js';
import { createLogger } from '../../../lib/logger.js';
import { connectRedis, deleteKeysWithPrefix, type Redis } from '../../../lib/redis.js';
import { testEnv } from '../../../test/env.js';
import { freePort, OwnRedis, waitUntil } from '../../../test/own-redis.js';
import { startProposalConsumer } from './proposal-consumer.js';

/** Generous: the machine is shared and loaded. */
const WAIT = { timeout: 30_000, interval: 50 };

/**
 * The consumer against a real Redis: what a replica that died mid-batch left unacknowledged,
 * and a proposal whose recording failed, are handled again; nothing is acknowledged before
 * it is recorded; a Redis restarted empty is consumed again.
 */
describe('proposal consumer', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const setUp = async () => {
    const keyPrefix = `lotabots_test:${randomBytes(6).toString('hex')}:`;
    const redis = await connectRedis({ url: testEnv.redisUrl, keyPrefix });
    cleanups.push(async () => {
      redis.disconnect();
      await deleteKeysWithPrefix(testEnv.redisUrl, keyPrefix);
    });
    return { redis, stream: `${keyPrefix}${AUTONOMY_ACTIONS_STREAM}` };
  };
  const start = (redis: Redis, receive: (action: ProposedAction) => Promise<void>) => {
    const consumer = startProposalConsumer({ redis, logger: createLogger({ name: 'test', level: testEnv.logLevel }), receive, afterRead: async () => {}, claimIdleMs: 200 });
    cleanups.push(() => consumer.stop());
    return consumer;
  };
  const proposal = (): ProposedAction => ({
    actionId: randomUUID(),
    jobId: randomUUID(),
    userId: randomUUID(),
    context: null,
    name: 'send_email',
    arguments: '{}',
    proposedAt: new Date().toISOString(),
  });
  // ioredis prefixes XPENDING's key itself (not XGROUP's: see setUp's `stream`).
  const pendingCount = async (redis: Redis) => {
    const summary = (await redis.xpending(AUTONOMY_ACTIONS_STREAM, AUTONOMY_ACTIONS_GROUP)) as [number, ...unknown[]];
    return Number(summary[0]);
  };

  it('handles what a dead replica read and never acknowledged', async () => {
    const { redis, stream } = await setUp();
    const action = proposal();
    await proposeAction(redis, action);
    // A replica took the entry in the group and died before acknowledging it.
    await redis.call('XGROUP', 'CREATE', stream, AUTONOMY_ACTIONS_GROUP, '0', 'MKSTREAM');
    await redis.xreadgroup('GROUP', AUTONOMY_ACTIONS_GROUP, 'dead-replica', 'COUNT', 10, 'STREAMS', AUTONOMY_ACTIONS_STREAM, '>');
    expect(await pendingCount(redis)).toBe(1);

    const received: ProposedAction[] = [];
    start(redis, async (proposed) => void received.push(proposed));
    await vi.waitFor(() => expect(received).toEqual([action]), WAIT);
    await vi.waitFor(async () => expect(await pendingCount(redis)).toBe(0), WAIT);
  });

  it('keeps a proposal it failed to record unacknowledged and records it on a later try', async () => {
    const { redis } = await setUp();
    let attempts = 0;
    const recorded: string[] = [];
    start(redis, async (proposed) => {
      attempts += 1;
      if (attempts === 1) {
        // Acknowledging must wait for recording: the entry is still pending while it fails.
        expect(await pendingCount(redis)).toBe(1);
        throw new Error('PostgreSQL is down');
      }
      recorded.push(proposed.actionId);
    });
    const action = proposal();
    await proposeAction(redis, action);
    await vi.waitFor(() => expect(recorded).toEqual([action.actionId]), WAIT);
    expect(attempts).toBe(2);
    await vi.waitFor(async () => expect(await pendingCount(redis)).toBe(0), WAIT);
  });

  it('consumes again after Redis restarts empty (stream and group are created anew)', async () => {
    const server = new OwnRedis(await freePort());
    await server.start();
    cleanups.push(() => server.kill());
    const redis = await connectRedis({ url: server.url, keyPrefix: 'lotabots:' });
    cleanups.push(async () => void redis.disconnect());
    const received: string[] = [];
    start(redis, async (proposed) => void received.push(proposed.actionId));
    const before = proposal();
    await proposeAction(redis, before);
    await vi.waitFor(() => expect(received).toContain(before.actionId), WAIT);

    await server.kill();
    await server.start();
    const after = proposal();
    // The proposing client reconnects on its own; until then XADD fails and inference would retry.
    await waitUntil(() => proposeAction(redis, after).then(() => true, () => false), 'a proposal accepted by the restarted Redis');
    await vi.waitFor(() => expect(received).toContain(after.actionId), WAIT);
  }, 90_000);
});
