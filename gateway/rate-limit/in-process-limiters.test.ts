import { describe, expect, it } from 'vitest';

import { inProcessSlidingWindow, inProcessTokenBucket } from './in-process-limiters.js';
import type { RateLimitPlan } from './plans.js';

const plan: RateLimitPlan = { bucketSize: 100, restorePerSecond: 10, requestsPerWindow: 3, windowSeconds: 60 };
const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('in-process token bucket (the stand-in while Redis is down), on a fake clock', () => {
  it('drains by the cost taken and refills at restorePerSecond, never above bucketSize', async () => {
    const bucket = inProcessTokenBucket();
    expect(await bucket.take('user:a', plan, 60, T0)).toMatchObject({ allowed: true, available: 40 });
    const refused = await bucket.take('user:a', plan, 60, T0);
    // 20 missing at 10 per second: 2 s; nothing was taken.
    expect(refused).toMatchObject({ allowed: false, available: 40, retryAfterMs: 2_000 });
    expect(await bucket.peek('user:a', plan, T0 + 2_000)).toMatchObject({ available: 60 });
    expect(await bucket.take('user:a', plan, 60, T0 + 2_000)).toMatchObject({ allowed: true, available: 0, resetAfterMs: 10_000 });
    expect(await bucket.peek('user:a', plan, T0 + 60_000)).toMatchObject({ available: 100, resetAfterMs: 0 });
  });

  it('refunds up to the bucket size, and keeps callers apart', async () => {
    const bucket = inProcessTokenBucket();
    await bucket.take('user:a', plan, 50, T0);
    expect(await bucket.refund('user:a', plan, 30, T0)).toMatchObject({ available: 80 });
    expect(await bucket.refund('user:a', plan, 1_000, T0)).toMatchObject({ available: 100 });
    await bucket.take('user:a', plan, 100, T0);
    expect(await bucket.peek('ip:203.0.113.7', plan, T0)).toMatchObject({ available: 100 });
  });

  it('a take first gives back the credit (refunds held back), capped at the bucket size', async () => {
    const bucket = inProcessTokenBucket();
    await bucket.take('user:a', plan, 90, T0);
    expect(await bucket.take('user:a', plan, 50, T0, 60)).toMatchObject({ allowed: true, available: 20 });
    expect(await bucket.take('user:a', plan, 100, T0, 500)).toMatchObject({ allowed: true, available: 0 });
  });

  it('a cost larger than the bucket is refused with the time until the bucket is full', async () => {
    const bucket = inProcessTokenBucket();
    await bucket.take('user:a', plan, 50, T0);
    expect(await bucket.take('user:a', plan, 500, T0)).toMatchObject({ allowed: false, retryAfterMs: 5_000 });
  });

  it('a clock that steps back refills nothing', async () => {
    const bucket = inProcessTokenBucket();
    await bucket.take('user:a', plan, 100, T0);
    expect(await bucket.peek('user:a', plan, T0 - 5_000)).toMatchObject({ available: 0 });
  });
});

describe('in-process sliding window, on a fake clock', () => {
  it('allows requestsPerWindow per window, whatever the cost, and frees each slot a window after it was taken', async () => {
    const window = inProcessSlidingWindow();
    expect(await window.take('user:a', plan, 1_000, T0)).toMatchObject({ allowed: true, available: 2 });
    await window.take('user:a', plan, 1, T0 + 10_000);
    await window.take('user:a', plan, 1, T0 + 20_000);
    expect(await window.take('user:a', plan, 1, T0 + 30_000)).toMatchObject({ allowed: false, available: 0, retryAfterMs: 30_000 });
    expect(await window.refund('user:a', plan, 1, T0 + 30_000)).toMatchObject({ available: 0 });
    expect(await window.take('user:a', plan, 1, T0 + 60_000)).toMatchObject({ allowed: true, available: 0 });
    expect(await window.peek('user:a', plan, T0 + 200_000)).toMatchObject({ available: 3, resetAfterMs: 0 });
  });
});
