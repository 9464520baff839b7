/**
 * A streaming anomaly detector for one series of samples: an exponentially weighted mean and
 * variance (EWMA), a z-score threshold with an absolute floor, a warm-up, and hysteresis.
 * Pure: `observe` returns the next state and what changed; the caller owns time (each sample
 * carries its own instant, read from the injected clock) and storage.
 */

/** How one series is judged (the usage subgraph's AIOPS_* settings; README, AIOps). */
export interface DetectorParams {
  /** Weight of the newest sample in the mean and variance, 0 < alpha ≤ 1. */
  alpha: number;
  /** A sample is anomalous when it is more than this many standard deviations above the mean… */
  zThreshold: number;
  /** …and more than this far above the mean in the series' own unit (so a flat series does not alert on noise). */
  minDeviation: number;
  /** Samples that only build the baseline before any is judged. */
  warmupSamples: number;
  /** Consecutive anomalous samples that raise an alert. */
  raiseAfter: number;
  /** Consecutive normal samples that resolve a raised alert. */
  resolveAfter: number;
}

export interface DetectorState {
  /** Samples seen (counted up to the warm-up only; later ones make no difference). */
  samples: number;
  mean: number;
  variance: number;
  /** Whether an alert is raised for this series. */
  firing: boolean;
  /** Consecutive samples against the current state: anomalous while quiet, normal while firing. */
  streak: number;
}

/** What one sample did. `raised` and `resolved` are the only transitions; everything else is `none`. */
export type Transition =
  | { kind: 'none' }
  | {
      kind: 'raised';
      /** The sample that completed the streak. */
      value: number;
      /** The mean before the incident: what normal looked like. */
      baseline: number;
      /** The deviation beyond which a sample counted as anomalous (z × σ, at least the floor). */
      threshold: number;
    }
  | { kind: 'resolved'; value: number };

export const INITIAL_STATE: DetectorState = Object.freeze({ samples: 0, mean: 0, variance: 0, firing: false, streak: 0 });

/** A state that is already firing with `baseline` as its mean (an open alert found after a restart). */
export function firingState(baseline: number, params: DetectorParams): DetectorState {
  return { samples: params.warmupSamples, mean: baseline, variance: 0, firing: true, streak: 0 };
}

/** The deviation above the mean beyond which a sample is anomalous in `state`. */
export function thresholdOf(state: DetectorState, params: DetectorParams): number {
  return Math.max(params.zThreshold * Math.sqrt(state.variance), params.minDeviation);
}

/** One sample: the state after it and the transition it caused. Non-finite values are ignored. */
export function observe(state: DetectorState, value: number, params: DetectorParams): { state: DetectorState; transition: Transition } {
  if (!Number.isFinite(value)) return { state, transition: { kind: 'none' } };
  if (state.samples < params.warmupSamples) return { state: learn(state, value, params), transition: { kind: 'none' } };

  const threshold = thresholdOf(state, params);
  // One-sided: only rises are incidents. A fall (tokens/s or traffic dropping to zero) looks
  // exactly like a quiet night, so it is not alerted on.
  const anomalous = value - state.mean > threshold;
  // Anomalous samples never teach the baseline: an incident must not become the new normal,
  // or a lasting spike would resolve itself while it still lasts.
  const next = anomalous ? state : learn(state, value, params);

  if (!state.firing) {
    const streak = anomalous ? state.streak + 1 : 0;
    if (streak >= params.raiseAfter) {
      return { state: { ...next, firing: true, streak: 0 }, transition: { kind: 'raised', value, baseline: state.mean, threshold } };
    }
    return { state: { ...next, streak }, transition: { kind: 'none' } };
  }
  const streak = anomalous ? 0 : state.streak + 1;
  if (streak >= params.resolveAfter) return { state: { ...next, firing: false, streak: 0 }, transition: { kind: 'resolved', value } };
  return { state: { ...next, streak }, transition: { kind: 'none' } };
}

/**
 * The incremental EWMA mean and variance (Finch, "Incremental calculation of weighted mean and
 * variance", 2009). During the warm-up the weight is at least 1/n, so the first samples give
 * their plain mean and variance instead of a baseline dragged towards the initial 0.
 */
function learn(state: DetectorState, value: number, params: DetectorParams): DetectorState {
  const samples = Math.min(state.samples + 1, params.warmupSamples);
  const alpha = state.samples < params.warmupSamples ? Math.max(params.alpha, 1 / (state.samples + 1)) : params.alpha;
  const difference = value - state.mean;
  const increment = alpha * difference;
  return { ...state, samples, mean: state.mean + increment, variance: (1 - alpha) * (state.variance + difference * increment) };
}
