/**
 * Holt's linear (double) exponential smoothing of a rate observed at irregular times: a
 * smoothed level and a smoothed trend (change per second), so a forecast extrapolates a load
 * that is rising or falling instead of lagging it as a plain moving average does.
 */

export interface HoltSmoothing {
  /** 0 < alpha ≤ 1: weight of the newest observation in the level (higher follows faster, smooths less). */
  alpha: number;
  /** 0 < beta ≤ 1: weight of the newest level change in the trend. */
  beta: number;
}

export interface HoltState {
  /** The smoothed value at `atMs`. */
  level: number;
  /** The smoothed change per second. */
  trendPerSecond: number;
  atMs: number;
}

/**
 * The state after observing `value` at `atMs`. The first observation sets the level and no
 * trend. An observation not later than the state's is ignored (a clock that stepped back
 * gives no rate). The level blends the observation with the previous state's prediction for
 * this moment; the trend blends the level's change per second with the previous trend.
 */
export function holtObserve(state: HoltState | null, value: number, atMs: number, smoothing: HoltSmoothing): HoltState {
  if (!state) return { level: value, trendPerSecond: 0, atMs };
  const seconds = (atMs - state.atMs) / 1000;
  if (seconds <= 0) return state;
  const predicted = state.level + state.trendPerSecond * seconds;
  const level = smoothing.alpha * value + (1 - smoothing.alpha) * predicted;
  const trendPerSecond = smoothing.beta * ((level - state.level) / seconds) + (1 - smoothing.beta) * state.trendPerSecond;
  return { level, trendPerSecond, atMs };
}

/** The value `horizonSeconds` after the state's time; never below 0 (a rate cannot be negative). */
export function holtForecast(state: HoltState | null, horizonSeconds: number): number {
  if (!state) return 0;
  return Math.max(0, state.level + state.trendPerSecond * horizonSeconds);
}
