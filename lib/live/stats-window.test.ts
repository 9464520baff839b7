import { describe, expect, it } from 'vitest';

import { createStatsWindow, histogramQuantile } from './stats-window.js';

describe('the sliding stats window', () => {
  const clock = (startMs: number) => {
    let now = startMs;
    return { now: () => now, advance: (ms: number) => void (now += ms) };
  };

  it('is all zeros before any operation', () => {
    const time = clock(1_700_000_000_000);
    expect(createStatsWindow({ now: time.now }).figures()).toEqual({ requestsPerSecond: 0, errorRate: 0, p95LatencyMs: 0 });
  });

  it('gives the rate over the time it has existed, the error share, and p95 within 10 %', () => {
    const time = clock(1_700_000_000_000);
    const window = createStatsWindow({ now: time.now });
    // 100 operations over 5 s: latencies 1..100 ms, every tenth one failed.
    for (let i = 1; i <= 100; i++) {
      window.record(i % 10 === 0, i);
      time.advance(50);
    }
    const figures = window.figures();
    expect(figures.requestsPerSecond).toBeCloseTo(100 / 5, 5);
    expect(figures.errorRate).toBeCloseTo(0.1, 5);
    expect(figures.p95LatencyMs).toBeGreaterThan(95 * 0.9);
    expect(figures.p95LatencyMs).toBeLessThan(95 * 1.1);
  });

  it('forgets operations older than the window', () => {
    const time = clock(1_700_000_000_000);
    const window = createStatsWindow({ now: time.now, windowSeconds: 10 });
    for (let i = 0; i < 50; i++) window.record(true, 500);
    time.advance(30_000);
    for (let i = 0; i < 20; i++) window.record(false, 2);
    const figures = window.figures();
    expect(figures.requestsPerSecond).toBeCloseTo(20 / 10, 0);
    expect(figures.errorRate).toBe(0);
    expect(figures.p95LatencyMs).toBeLessThan(2.5);
  });

  it('counts operations without a latency sample in rate and errors only', () => {
    const time = clock(1_700_000_000_500);
    const window = createStatsWindow({ now: time.now });
    window.record(true, null);
    window.record(false, 10);
    time.advance(1_000);
    expect(window.figures()).toMatchObject({ errorRate: 0.5, requestsPerSecond: 2 });
    expect(window.figures().p95LatencyMs).toBeGreaterThanOrEqual(9);
    expect(window.figures().p95LatencyMs).toBeLessThanOrEqual(11);
  });

  it('reads quantiles from a histogram', () => {
    expect(histogramQuantile([0, 0, 0], 0.95)).toBe(0);
    expect(histogramQuantile([4], 0.5)).toBeCloseTo(0.05, 5);
  });
});
