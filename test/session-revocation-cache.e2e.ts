import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { watchRevocations } from '../gateway/auth/revocation-notices.js';
import { createSessionRevocationCheck, type SessionRevocationCheck } from '../gateway/auth/session-revocations.js';
import { announceRevocations, createRevokedSessionsCache } from '../lib/auth/revocation.js';
import { createLiveHub, type LiveHub } from '../lib/live/pubsub.js';
import { createLogger } from '../lib/logger.js';
import { connectRedis, type Redis } from '../lib/redis.js';
import { freePort, OwnRedis, waitUntil } from './own-redis.js';

/**
 * The gateway keeps Redis' "live" for a session briefly, so a busy client's requests skip the
 * revocation read; revocation notices end that at once, and while notices cannot be heard
 * nothing is kept. A Redis server of this file's own (it is killed and restarted), the
 * gateway's own pieces (check, hub, notice watcher), and a clock the test moves.
 */

const logger = createLogger({ name: 'test', level: 'silent' });
const SIGNAL = { timeout: 30_000, interval: 20 };
const CACHE_MS = 1_000;

describe('the session revocation cache', () => {
  let server: OwnRedis;
  let redis: Redis;
  let hub: LiveHub;
  let check: SessionRevocationCheck;
  let stopWatching: () => Promise<void>;
  let now = 0;
  const reads = { count: 0, gate: null as Promise<void> | null };

  const markComplete = () => createRevokedSessionsCache(redis).markComplete();
  const revoke = async (sessionId: string) => {
    await createRevokedSessionsCache(redis).add([{ sessionId, until: new Date(Date.now() + 60_000) }], new Date());
    await announceRevocations(redis, { sessionIds: [sessionId] });
  };

  beforeAll(async () => {
    server = new OwnRedis(await freePort());
    await server.start();
    redis = await connectRedis({ url: server.url, keyPrefix: `src-${randomUUID()}:` });
    // Every session read goes through here: counted, and held while a test holds the gate.
    const zmscore = redis.zmscore.bind(redis);
    redis.zmscore = (async (...args: Parameters<typeof zmscore>) => {
      reads.count += 1;
      await reads.gate;
      return zmscore(...args);
    }) as typeof redis.zmscore;
    hub = createLiveHub(redis, logger);
    check = createSessionRevocationCheck({ redis, users: null, cacheMs: CACHE_MS, nowMs: () => now });
    stopWatching = await watchRevocations(hub, [check], logger);
    await markComplete();
  });

  afterAll(async () => {
    await stopWatching?.();
    await hub?.close();
    redis?.disconnect();
    await server?.kill();
  });

  /** Reads the session once and checks the answer: a promise when Redis was asked, a boolean when the cache answered. */
  const answer = async (sessionId: string) => {
    const before = reads.count;
    const revoked = await check.isRevoked(sessionId);
    return { revoked, asked: reads.count > before };
  };

  it('asks Redis once for a live session, then answers at once until the cache time has passed', async () => {
    const session = randomUUID();
    expect(await answer(session)).toEqual({ revoked: false, asked: true });
    expect(check.isRevoked(session)).toBe(false);
    now += CACHE_MS - 1;
    expect(await answer(session)).toEqual({ revoked: false, asked: false });
    now += 1;
    expect(await answer(session)).toEqual({ revoked: false, asked: true });
  });

  it('with SESSION_CHECK_CACHE_MS=0 keeps nothing: every check reads Redis', async () => {
    const uncached = createSessionRevocationCheck({ redis, users: null, cacheMs: 0, nowMs: () => now });
    uncached.hearing(true);
    const session = randomUUID();
    const before = reads.count;
    for (let i = 0; i < 3; i++) expect(await uncached.isRevoked(session)).toBe(false);
    expect(reads.count - before).toBe(3);
  });

  it('refuses a session as soon as its revocation notice arrives, with the clock standing still', async () => {
    const session = randomUUID();
    expect(await answer(session)).toEqual({ revoked: false, asked: true });
    await revoke(session);
    await vi.waitFor(async () => expect(await answer(session)).toEqual({ revoked: true, asked: true }), SIGNAL);
    // Revoked is not kept: asked again, and still revoked.
    expect(await answer(session)).toEqual({ revoked: true, asked: true });
  });

  it('does not keep a live answer that was in flight when a notice came', async () => {
    const session = randomUUID();
    let open!: () => void;
    reads.gate = new Promise((resolve) => (open = resolve));
    const inFlight = check.isRevoked(session);
    // A notice about another session while the read is held: the answer may predate a revocation.
    const noticed = new Promise<void>((resolve) => {
      const original = check.noticed;
      check.noticed = (notice) => {
        original(notice);
        check.noticed = original;
        resolve();
      };
    });
    await revoke(randomUUID());
    await noticed;
    reads.gate = null;
    open();
    expect(await inFlight).toBe(false);
    expect(await answer(session)).toEqual({ revoked: false, asked: true });
    expect(await answer(session)).toEqual({ revoked: false, asked: false });
  });

  it('keeps nothing while the pub/sub connection is down, and caches again once it is subscribed again', async () => {
    const session = randomUUID();
    expect(await answer(session)).toEqual({ revoked: false, asked: true });
    expect(await answer(session)).toEqual({ revoked: false, asked: false });

    await server.kill();
    // The dropped connection clears the cache: Redis is asked, and its absence refuses (fail-closed).
    await vi.waitFor(async () => {
      const asked = check.isRevoked(session);
      expect(asked).toBeInstanceOf(Promise);
      await expect(asked).rejects.toThrow();
    }, SIGNAL);

    await server.start();
    await waitUntil(async () => redis.status === 'ready', 'the command connection to be back');
    await markComplete();
    await vi.waitFor(async () => {
      expect(await answer(session)).toEqual({ revoked: false, asked: true });
      expect(await answer(session)).toEqual({ revoked: false, asked: false });
    }, SIGNAL);
    // Subscribed again: notices are heard.
    await revoke(session);
    await vi.waitFor(async () => expect(await answer(session)).toEqual({ revoked: true, asked: true }), SIGNAL);
  }, 60_000);
});
