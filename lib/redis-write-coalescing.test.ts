import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { testEnv } from '../test/env.js';
import { connectRedis, deleteKeysWithPrefix, type Redis } from './redis.js';

const clients: Redis[] = [];
const prefix = `lotabots_test:coalesce:${randomBytes(4).toString('hex')}:`;
afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await deleteKeysWithPrefix(testEnv.redisUrl, prefix);
});

async function connect(coalesceWrites: boolean): Promise<Redis> {
  const redis = await connectRedis({ url: testEnv.redisUrl, keyPrefix: prefix, coalesceWrites });
  clients.push(redis);
  return redis;
}

/** Counts the socket's writes as Node hands them to the OS: one `_write` or `_writev` is one syscall. */
function countWrites(socket: Socket): () => number {
  const single = vi.spyOn(socket, '_write');
  // Declared optional on Writable, which Socket implements.
  const vectored = vi.spyOn(socket as Required<Pick<Socket, '_writev'>>, '_writev');
  return () => single.mock.calls.length + vectored.mock.calls.length;
}

/** Ten commands in one event-loop turn, which must answer in order. */
async function sendTenInOneTurn(redis: Redis, key: string): Promise<void> {
  const replies = await Promise.all(Array.from({ length: 10 }, () => redis.incr(key)));
  expect(replies).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
}

describe('coalescing Redis writes per event-loop turn', () => {
  it('sends the commands of one turn in one write, answered in order', async () => {
    const redis = await connect(true);
    const writes = countWrites(redis.stream as Socket);
    await sendTenInOneTurn(redis, 'counter');
    expect(writes()).toBe(1);
  });

  it('is what saves the writes: without it each command is a write of its own', async () => {
    const redis = await connect(false);
    const writes = countWrites(redis.stream as Socket);
    await sendTenInOneTurn(redis, 'counter');
    expect(writes()).toBe(10);
  });

  it('sends a lone command before any timer fires', async () => {
    const redis = await connect(true);
    // Continue in the socket's read callback, as a request handler does: from there the turn's
    // immediates run before a 0 ms timer.
    await redis.ping();
    const writes = countWrites(redis.stream as Socket);
    let writesWhenTheTimerFired = 0;
    const timer = new Promise<void>((resolve) =>
      setTimeout(() => {
        writesWhenTheTimerFired = writes();
        resolve();
      }, 0),
    );
    await Promise.all([redis.ping(), timer]);
    expect(writesWhenTheTimerFired).toBe(1);
  });

  it('coalesces on the new socket after a reconnect', async () => {
    const redis = await connect(true);
    const first = redis.stream;
    const back = once(redis, 'ready');
    first.destroy();
    await back;
    expect(redis.stream).not.toBe(first);
    const writes = countWrites(redis.stream as Socket);
    await sendTenInOneTurn(redis, 'after-reconnect');
    expect(writes()).toBe(1);
  });

  it('leaves the in-process stand-in as it is', async () => {
    const redis = await connectRedis({ keyPrefix: prefix, coalesceWrites: true });
    clients.push(redis);
    await expect(redis.incr('counter')).resolves.toBe(1);
  });
});
