/**
 * Operations of the last `windowSeconds` (10 by default) in one-second slots: how many, how
 * many failed, and their latencies in a small log-scale histogram, so memory stays fixed
 * whatever the traffic and p95 is read to within the histogram's 10 % bucket width.
 */

/** Histogram bucket upper bounds (ms): 0.1 ms × 1.1^i, up to 10 min; one overflow bucket after. */
const BOUNDS_MS: readonly number[] = (() => {
  const bounds: number[] = [];
  for (let bound = 0.1; bound < 600_000; bound *= 1.1) bounds.push(bound);
  return bounds;
})();

function bucketOf(latencyMs: number): number {
  // Binary search for the first bound >= latency.
  let low = 0;
  let high = BOUNDS_MS.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (BOUNDS_MS[middle]! < latencyMs) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The `quantile` (0..1) of a histogram, interpolated linearly inside its bucket; 0 when empty. */
export function histogramQuantile(counts: ArrayLike<number>, quantile: number): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(quantile * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i]!;
    if (seen + count >= rank) {
      const lower = i === 0 ? 0 : BOUNDS_MS[i - 1]!;
      if (i >= BOUNDS_MS.length) return lower;
      return lower + ((rank - seen) / count) * (BOUNDS_MS[i]! - lower);
    }
    seen += count;
  }
  return BOUNDS_MS[BOUNDS_MS.length - 1]!;
}

interface Slot {
  /** Unix second this slot holds, or -1 when unused. */
  second: number;
  operations: number;
  errors: number;
  latencies: Uint32Array;
}

export interface WindowFigures {
  requestsPerSecond: number;
  /** 0..1; 0 without operations. */
  errorRate: number;
  /** 0 without latency samples. */
  p95LatencyMs: number;
}

export function createStatsWindow(options: { now: () => number; windowSeconds?: number }) {
  const windowSeconds = options.windowSeconds ?? 10;
  const startedAtMs = options.now();
  const slots: Slot[] = Array.from({ length: windowSeconds }, () => ({
    second: -1,
    operations: 0,
    errors: 0,
    latencies: new Uint32Array(BOUNDS_MS.length + 1),
  }));
  const slotFor = (second: number): Slot => {
    const slot = slots[second % windowSeconds]!;
    if (slot.second !== second) {
      slot.second = second;
      slot.operations = 0;
      slot.errors = 0;
      slot.latencies.fill(0);
    }
    return slot;
  };
  return {
    /** One finished operation; `latencyMs` null when it has no meaningful duration. */
    record(failed: boolean, latencyMs: number | null): void {
      const slot = slotFor(Math.floor(options.now() / 1000));
      slot.operations += 1;
      if (failed) slot.errors += 1;
      if (latencyMs !== null) slot.latencies[bucketOf(latencyMs)]! += 1;
    },
    figures(): WindowFigures {
      const nowMs = options.now();
      const current = Math.floor(nowMs / 1000);
      const oldest = current - windowSeconds + 1;
      let operations = 0;
      let errors = 0;
      const latencies = new Uint32Array(BOUNDS_MS.length + 1);
      for (const slot of slots) {
        if (slot.second < oldest || slot.second > current) continue;
        operations += slot.operations;
        errors += slot.errors;
        for (let i = 0; i < latencies.length; i++) latencies[i]! += slot.latencies[i]!;
      }
      // The window spans the whole older slots plus the elapsed part of the current one,
      // and never reaches back before this window existed.
      const spanMs = Math.min(nowMs - oldest * 1000, nowMs - startedAtMs);
      const seconds = Math.max(spanMs, 1_000) / 1000;
      return {
        requestsPerSecond: operations / seconds,
        errorRate: operations > 0 ? errors / operations : 0,
        p95LatencyMs: histogramQuantile(latencies, 0.95),
      };
    },
  };
}

export type StatsWindow = ReturnType<typeof createStatsWindow>;
