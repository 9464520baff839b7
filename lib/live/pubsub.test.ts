import { randomBytes } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import { createLogger } from '../logger.js';
import { connectRedis, type Redis } from '../redis.js';
import { createLiveHub, type LiveHub, prefixedChannel, publishLive } from './pubsub.js';

// The in-process stand-in (ioredis-mock) is what `npm start` runs on without a Redis URL;
// the e2e tests cover the same hub against a real server.
const logger = createLogger({ name: 'test', level: 'silent' });
const opened: Array<{ redis: Redis; hub: LiveHub }> = [];

async function setUp(keyPrefix = `t${randomBytes(4).toString('hex')}:`) {
  const redis = await connectRedis({ keyPrefix });
  const hub = createLiveHub(redis, logger);
  opened.push({ redis, hub });
  return { redis, hub };
}

const numsub = async (redis: Redis, channel: string) => Number(((await redis.pubsub('NUMSUB', prefixedChannel(redis, channel))) as [string, number])[1]);
const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

afterEach(async () => {
  for (const { redis, hub } of opened.splice(0)) {
    await hub.close();
    redis.disconnect();
  }
});

describe('the live hub', () => {
  it('fans one Redis subscription out to every listener of a channel, and drops it with the last', async () => {
    const { redis, hub } = await setUp();
    const a: string[] = [];
    const b: string[] = [];
    const stopA = await hub.listen('news', { message: (m) => a.push(m) });
    const stopB = await hub.listen('news', { message: (m) => b.push(m) });
    expect(await numsub(redis, 'news')).toBe(1);
    expect(hub.listenerCount('news')).toBe(2);

    await publishLive(redis, 'news', 'one');
    await tick();
    expect(a).toEqual(['one']);
    expect(b).toEqual(['one']);

    await stopA();
    await stopA(); // idempotent
    expect(await numsub(redis, 'news')).toBe(1);
    await stopB();
    expect(await numsub(redis, 'news')).toBe(0);
    expect(hub.listenerCount()).toBe(0);
    await publishLive(redis, 'news', 'two');
    await tick();
    expect(b).toEqual(['one']);
  });

  it('keeps the subscription when a listener arrives while the last one is leaving', async () => {
    const { redis, hub } = await setUp();
    const got: string[] = [];
    const stop = await hub.listen('race', { message: () => {} });
    const leaving = stop();
    const arriving = hub.listen('race', { message: (m) => got.push(m) });
    await Promise.all([leaving, arriving]);
    expect(await numsub(redis, 'race')).toBe(1);
    await publishLive(redis, 'race', 'still here');
    await tick();
    expect(got).toEqual(['still here']);
  });

  it('prefixes channels with the key prefix, so deployments sharing a Redis never cross-talk', async () => {
    const first = await setUp();
    const second = await setUp();
    const heard: string[] = [];
    await first.hub.listen('shared', { message: (m) => heard.push(m) });
    await publishLive(second.redis, 'shared', 'from the other deployment');
    await publishLive(first.redis, 'shared', 'mine');
    await tick();
    expect(heard).toEqual(['mine']);
    expect(prefixedChannel(first.redis, 'shared')).toBe(`${first.redis.options.keyPrefix}shared`);
  });

  it('iterates parsed messages in order, skips unparseable ones, and releases the channel on return()', async () => {
    const { redis, hub } = await setUp();
    const events = await hub.iterate('numbers', (payload) => {
      const value = JSON.parse(payload) as unknown;
      return typeof value === 'number' ? value : null;
    });
    for (const payload of ['1', 'not json', '"a string"', '2', '3']) await publishLive(redis, 'numbers', payload);
    const seen: number[] = [];
    for await (const value of events) {
      seen.push(value);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([1, 2, 3]);
    expect(hub.listenerCount('numbers')).toBe(0);
    expect(await numsub(redis, 'numbers')).toBe(0);
  });

  it('ends open iterators when it closes', async () => {
    const { hub } = await setUp();
    const events = await hub.iterate('closing', (payload) => payload);
    const next = events.next();
    await hub.close();
    await expect(next).resolves.toEqual({ value: undefined, done: true });
    await expect(hub.listen('closing', { message: () => {} })).rejects.toThrow(/closed/);
  });
});
