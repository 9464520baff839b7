import { performance } from 'node:perf_hooks';

import type { BenchContext } from '../scenarios.js';

/**
 * A micro-benchmark: one operation (e.g. authenticating a request) timed in a loop in this
 * process, outside any HTTP load. `setup` runs once, before the first round.
 */
export interface MicroBenchmark {
  name: string;
  /** The name of another micro-benchmark this one is compared with: the table shows µs/op ÷ that row's µs/op. */
  baseline?: string;
  setup(context: BenchContext): Promise<MicroOperation> | MicroOperation;
}

export interface MicroOperation {
  /** Called before each round's warm-up (e.g. to renew a credential the operation uses). */
  beforeRound?(): Promise<void> | void;
  /** The operation; a returned promise is awaited before the next call. */
  run(): unknown;
  close?(): Promise<void> | void;
}

export interface MicroResult {
  iterations: number;
  durationS: number;
  opsPerSec: number;
  /** Mean time per operation in microseconds. */
  meanUs: number;
}

/** Below this a batch is too short to time reliably, so the batch size doubles. @default 10 // ms */
const MIN_BATCH_MS = 10;

/** Calls `operation.run` in batches until `durationS` seconds have passed. */
export async function measureMicro(operation: MicroOperation, durationS: number): Promise<MicroResult> {
  const deadline = performance.now() + durationS * 1_000;
  let batch = 1;
  let iterations = 0;
  let elapsedMs = 0;
  while (performance.now() < deadline) {
    const start = performance.now();
    for (let i = 0; i < batch; i++) {
      const outcome = operation.run();
      if (outcome instanceof Promise) await outcome;
    }
    const took = performance.now() - start;
    elapsedMs += took;
    iterations += batch;
    if (took < MIN_BATCH_MS) batch *= 2;
  }
  return {
    iterations,
    durationS: elapsedMs / 1_000,
    opsPerSec: elapsedMs > 0 ? (iterations * 1_000) / elapsedMs : 0,
    meanUs: iterations > 0 ? (elapsedMs * 1_000) / iterations : 0,
  };
}
