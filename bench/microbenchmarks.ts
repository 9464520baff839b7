import type { MicroBenchmark } from './lib/micro.js';

/**
 * Micro-benchmarks, reported in their own table before the HTTP one (skipped while empty).
 * Add one per measured operation, e.g. the cost of authenticating a request.
 */
export const microBenchmarks: MicroBenchmark[] = [];
