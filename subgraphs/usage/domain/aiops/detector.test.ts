import { describe, expect, it } from 'vitest';

import { type DetectorParams, type DetectorState, firingState, INITIAL_STATE, observe, thresholdOf, type Transition } from './detector.js';

const PARAMS: DetectorParams = { alpha: 0.1, zThreshold: 4, minDeviation: 50, warmupSamples: 10, raiseAfter: 3, resolveAfter: 4 };

/** Feeds `values` in order; returns each sample's transition kind (with its index) and the final state. */
function run(values: number[], params = PARAMS, start: DetectorState = INITIAL_STATE) {
  let state = start;
  const transitions: Array<{ at: number } & Transition> = [];
  values.forEach((value, at) => {
    const step = observe(state, value, params);
    state = step.state;
    if (step.transition.kind !== 'none') transitions.push({ at, ...step.transition });
  });
  return { state, transitions };
}

/** A deterministic noisy baseline: `level` ± `amplitude`, alternating. */
const noisy = (count: number, level: number, amplitude: number) => Array.from({ length: count }, (_, i) => level + (i % 2 === 0 ? amplitude : -amplitude));
const flat = (count: number, level: number) => Array.from({ length: count }, () => level);

describe('the EWMA anomaly detector', () => {
  it('learns the plain mean and variance during the warm-up and judges nothing', () => {
    const { state, transitions } = run([100, 300, 100, 300, 100, 300, 100, 300, 100, 300]);
    expect(transitions).toEqual([]);
    expect(state.samples).toBe(10);
    expect(state.mean).toBeCloseTo(200, 6);
    // Weights 1/n reproduce the population variance of the ten samples.
    expect(state.variance).toBeCloseTo(10_000, 6);
  });

  it('raises after raiseAfter consecutive anomalous samples, with the pre-incident baseline and the threshold', () => {
    const baseline = noisy(30, 100, 5);
    const { transitions } = run([...baseline, 2_000, 2_000, 2_000]);
    expect(transitions).toHaveLength(1);
    const [raised] = transitions;
    expect(raised).toMatchObject({ at: 32, kind: 'raised', value: 2_000 });
    if (raised?.kind !== 'raised') throw new Error('not raised');
    expect(raised.baseline).toBeGreaterThan(95);
    expect(raised.baseline).toBeLessThan(105);
    // σ ≈ 5, so 4σ ≈ 20 is below the floor: the floor is the threshold.
    expect(raised.threshold).toBe(50);
  });

  it('does not raise on fewer consecutive anomalies than raiseAfter (a streak broken by a normal sample restarts)', () => {
    const { transitions } = run([...noisy(30, 100, 5), 2_000, 2_000, 100, 2_000, 2_000, 100]);
    expect(transitions).toEqual([]);
  });

  it('resolves after resolveAfter consecutive normal samples, and an anomaly in between restarts the count', () => {
    const values = [...noisy(30, 100, 5), 2_000, 2_000, 2_000, 100, 100, 100, 2_000, 100, 100, 100, 100];
    const { transitions, state } = run(values);
    expect(transitions.map((t) => [t.kind, t.at])).toEqual([
      ['raised', 32],
      ['resolved', 40],
    ]);
    expect(state.firing).toBe(false);
  });

  it('keeps the baseline of before the incident however long it lasts (anomalies do not teach it)', () => {
    const { state, transitions } = run([...noisy(30, 100, 5), ...flat(500, 2_000)]);
    expect(transitions.map((t) => t.kind)).toEqual(['raised']);
    expect(state.firing).toBe(true);
    expect(state.mean).toBeLessThan(105);
  });

  it('does not alert on a flat series that wobbles within the floor (σ = 0 would make any change infinite z)', () => {
    const { transitions } = run([...flat(20, 0), 1, 0, 2, 0, 30, 0, 49, 49, 49, 49]);
    expect(transitions).toEqual([]);
  });

  it('alerts on a flat series once the rise exceeds the floor', () => {
    const { transitions } = run([...flat(20, 0), 51, 51, 51]);
    expect(transitions).toEqual([{ at: 22, kind: 'raised', value: 51, baseline: 0, threshold: 50 }]);
  });

  it('uses z × σ when the series is noisier than the floor', () => {
    // σ = 100 around 1,000: 4σ = 400 > floor 50. 1,300 is normal noise, 1,500 is not.
    const baseline = noisy(60, 1_000, 100);
    expect(run([...baseline, 1_300, 1_300, 1_300]).transitions).toEqual([]);
    const { transitions } = run([...baseline, 1_500, 1_500, 1_500]);
    expect(transitions.map((t) => t.kind)).toEqual(['raised']);
    const raised = transitions[0]!;
    if (raised.kind !== 'raised') throw new Error('not raised');
    expect(raised.threshold).toBeGreaterThan(350);
    expect(raised.threshold).toBeLessThan(450);
  });

  it('never alerts on a fall', () => {
    expect(run([...noisy(30, 1_000, 5), ...flat(50, 0)]).transitions).toEqual([]);
  });

  it('follows a slow drift instead of alerting on it', () => {
    // +1 per sample: each step is far inside the threshold, and the mean keeps up.
    const drift = Array.from({ length: 400 }, (_, i) => 100 + i);
    expect(run(drift).transitions).toEqual([]);
  });

  it('ignores samples that are not numbers', () => {
    const { state } = run([...flat(10, 5), Number.NaN, Number.POSITIVE_INFINITY]);
    expect(state.mean).toBe(5);
  });

  it('resumes an open alert after a restart from its stored baseline and resolves it on normal samples', () => {
    const restored = firingState(100, PARAMS);
    expect(thresholdOf(restored, PARAMS)).toBe(50);
    const { transitions } = run([2_000, 100, 120, 90, 100], PARAMS, restored);
    expect(transitions).toEqual([{ at: 4, kind: 'resolved', value: 100 }]);
  });
});
