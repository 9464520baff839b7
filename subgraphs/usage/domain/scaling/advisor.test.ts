import { describe, expect, it } from 'vitest';

import { createScalingAdvisor, type ScalingAdvice, type ScalingParameters, workersFor } from './advisor.js';
import { holtForecast, holtObserve } from './holt.js';

const PARAMETERS: ScalingParameters = {
  horizonSeconds: 120,
  smoothing: { alpha: 0.5, beta: 0.3 },
  jobServiceSeconds: 10,
  workerConcurrency: 4,
  backlogDrainSeconds: 60,
  minWorkers: 1,
  maxWorkers: 20,
  gatewayRequestsPerReplica: 100,
  minGatewayReplicas: 2,
  maxGatewayReplicas: 10,
  scaleDownDelaySeconds: 300,
};

const START_MS = Date.parse('2026-01-01T00:00:00Z');
const STEP_SECONDS = 10;

/**
 * Replays job arrival rates (jobs per second during each 10 s step), queue depths and gateway
 * request rates through a fresh advisor, the way the sampler feeds it: a cumulative job
 * counter read every 10 s.
 */
function replay(steps: Array<{ jobsPerSecond: number; queueDepth?: number; requestsPerSecond?: number }>, parameters = PARAMETERS): ScalingAdvice[] {
  const advisor = createScalingAdvisor(parameters);
  let total = 0;
  return steps.map((step, index) => {
    if (index > 0) total += step.jobsPerSecond * STEP_SECONDS;
    return advisor.observe({
      at: new Date(START_MS + index * STEP_SECONDS * 1000),
      queueDepth: step.queueDepth ?? 0,
      jobsEnqueuedTotal: total,
      gatewayRequestsPerSecond: step.requestsPerSecond ?? 0,
    });
  });
}

const steady = (count: number, jobsPerSecond: number, more: { queueDepth?: number; requestsPerSecond?: number } = {}) =>
  Array.from({ length: count }, () => ({ jobsPerSecond, ...more }));

describe('Holt smoothing', () => {
  it('extrapolates a linear series along its slope', () => {
    let state = null;
    for (let second = 0; second <= 600; second += 10) state = holtObserve(state, 2 * second, START_MS + second * 1000, { alpha: 0.5, beta: 0.3 });
    expect(holtForecast(state, 60)).toBeCloseTo(2 * 660, 0);
  });

  it('ignores an observation that is not later than the last, and never forecasts below zero', () => {
    const first = holtObserve(null, 10, START_MS, { alpha: 0.5, beta: 0.5 });
    expect(holtObserve(first, 99, START_MS, { alpha: 0.5, beta: 0.5 })).toBe(first);
    const falling = holtObserve(first, 0, START_MS + 10_000, { alpha: 0.5, beta: 0.5 });
    expect(falling.trendPerSecond).toBeLessThan(0);
    expect(holtForecast(falling, 3_600)).toBe(0);
    expect(holtForecast(null, 60)).toBe(0);
  });
});

describe('scaling advisor', () => {
  it("advises Little's law for a steady load: rate × service time over the per-worker concurrency", () => {
    const last = replay(steady(30, 2)).at(-1)!;
    expect(last.forecastJobsPerSecond).toBeCloseTo(2, 9);
    // 2 jobs/s × 10 s = 20 busy slots, 4 per worker.
    expect(last.desiredWorkers).toBe(5);
    expect(last.horizonSeconds).toBe(120);
  });

  it('adds workers for a rising arrival rate before the queue grows', () => {
    // +0.1 job/s every step, from 1 to 3 jobs/s, with the queue empty throughout.
    const advice = replay(Array.from({ length: 21 }, (_, index) => ({ jobsPerSecond: 1 + index * 0.1, queueDepth: 0 })));
    const last = advice.at(-1)!;
    // What the current rate alone needs (3 jobs/s → 8 workers) is exceeded: the trend is extrapolated.
    expect(last.forecastJobsPerSecond).toBeGreaterThan(3);
    expect(last.desiredWorkers).toBeGreaterThan(workersFor(3, 0, PARAMETERS));
    const workers = advice.map((entry) => entry.desiredWorkers);
    expect(workers).toEqual([...workers].sort((a, b) => a - b));
    expect(workers.at(-1)!).toBeGreaterThan(workers[1]!);
  });

  it('adds workers to drain a backlog within the drain target, with no arrivals', () => {
    const last = replay(steady(5, 0, { queueDepth: 120 })).at(-1)!;
    // 120 jobs in 60 s = 2 jobs/s × 10 s = 20 slots = 5 workers.
    expect(last.desiredWorkers).toBe(5);
  });

  it('sheds workers for a falling load only once the lower advice has held for the scale-down delay', () => {
    const high = steady(30, 3);
    const low = steady(90, 0.5);
    const advice = replay([...high, ...low]);
    const peak = advice[high.length - 1]!.desiredWorkers;
    expect(peak).toBe(workersFor(3, 0, PARAMETERS));
    // Within the delay after the drop, the advice keeps the peak…
    const delaySteps = PARAMETERS.scaleDownDelaySeconds / STEP_SECONDS;
    for (const entry of advice.slice(high.length, high.length + delaySteps)) expect(entry.desiredWorkers).toBe(peak);
    // …and ends at what the low load needs (0.5 job/s × 10 s = 5 slots = 2 workers).
    expect(advice.at(-1)!.desiredWorkers).toBe(2);
    const afterDrop = advice.slice(high.length).map((entry) => entry.desiredWorkers);
    expect(afterDrop).toEqual([...afterDrop].sort((a, b) => b - a));
  });

  it('keeps within the worker bounds', () => {
    expect(replay(steady(10, 0)).at(-1)!.desiredWorkers).toBe(PARAMETERS.minWorkers);
    expect(replay(steady(10, 1_000)).at(-1)!.desiredWorkers).toBe(PARAMETERS.maxWorkers);
  });

  it('sizes gateway replicas from the request rate, within their bounds', () => {
    expect(replay(steady(10, 0, { requestsPerSecond: 450 })).at(-1)!.desiredGatewayReplicas).toBe(5);
    expect(replay(steady(10, 0, { requestsPerSecond: 0 })).at(-1)!.desiredGatewayReplicas).toBe(PARAMETERS.minGatewayReplicas);
    expect(replay(steady(10, 0, { requestsPerSecond: 50_000 })).at(-1)!.desiredGatewayReplicas).toBe(PARAMETERS.maxGatewayReplicas);
  });

  it('takes a job counter that went down (reset) as no rate, not a negative one', () => {
    const advisor = createScalingAdvisor(PARAMETERS);
    const sample = (seconds: number, total: number) =>
      advisor.observe({ at: new Date(START_MS + seconds * 1000), queueDepth: 0, jobsEnqueuedTotal: total, gatewayRequestsPerSecond: 0 });
    sample(0, 1_000);
    sample(10, 1_020);
    const afterReset = sample(20, 5);
    expect(afterReset.forecastJobsPerSecond).toBeCloseTo(2, 9);
    expect(sample(30, 25).forecastJobsPerSecond).toBeCloseTo(2, 9);
    expect(advisor.latest()).not.toBeNull();
  });
});
