import autocannon from 'autocannon';

import { percentileOfSorted } from './stats.js';

/** One HTTP POST of a JSON body, repeated by every connection as fast as the server answers. */
export interface LoadTarget {
  url: string;
  headers?: Record<string, string> | undefined;
  body: unknown;
}

/** Responses that must not happen in a benchmark; any of them makes the run fail. */
export interface Failures {
  /** Responses with a status outside 2xx. */
  non2xx: number;
  /** 2xx responses whose body contains `"errors"` (a GraphQL error is not a success). */
  graphqlErrors: number;
  /** Socket errors and timeouts, as autocannon counts them (timeouts included). */
  transport: number;
  timeouts: number;
}

export interface LoadResult {
  /** Responses completed in the measured window. */
  requests: number;
  durationS: number;
  reqPerSec: number;
  /** Latency percentiles in milliseconds, from every response's own timing (sub-millisecond precision). */
  p50Ms: number;
  p99Ms: number;
  failures: Failures;
}

export function failureCount(failures: Failures): number {
  return failures.non2xx + failures.graphqlErrors + failures.transport;
}

/** The failures of several windows added up. */
export function sumFailures(list: Failures[]): Failures {
  return list.reduce(
    (sum, f) => ({
      non2xx: sum.non2xx + f.non2xx,
      graphqlErrors: sum.graphqlErrors + f.graphqlErrors,
      transport: sum.transport + f.transport,
      timeouts: sum.timeouts + f.timeouts,
    }),
    { non2xx: 0, graphqlErrors: 0, transport: 0, timeouts: 0 },
  );
}

/**
 * Runs autocannon against one target for `durationS` seconds with `connections` keep-alive
 * connections (no pipelining) and summarises it. Latencies are recorded here, per response,
 * because autocannon's own histogram rounds to whole milliseconds.
 */
export async function runLoad(target: LoadTarget, options: { connections: number; durationS: number }): Promise<LoadResult> {
  const latencies: number[] = [];
  let graphqlErrors = 0;
  const result = await autocannon({
    url: target.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...target.headers },
    body: JSON.stringify(target.body),
    connections: options.connections,
    duration: options.durationS,
    // A body containing "errors" is a mismatch; the client then emits 'mismatch' right after
    // the response's 'response' event, so a non-2xx response is not counted twice.
    verifyBody: (body) => !body.includes('"errors"'),
    setupClient: (client) => {
      let lastStatus = 0;
      client.on('response', (statusCode, _bytes, durationMs) => {
        lastStatus = statusCode;
        latencies.push(durationMs);
      });
      client.on('mismatch', () => {
        if (lastStatus >= 200 && lastStatus < 300) graphqlErrors++;
      });
    },
  });
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: result.requests.total,
    durationS: result.duration,
    reqPerSec: result.duration > 0 ? result.requests.total / result.duration : 0,
    p50Ms: percentileOfSorted(sorted, 50),
    p99Ms: percentileOfSorted(sorted, 99),
    failures: { non2xx: result.non2xx, graphqlErrors, transport: result.errors, timeouts: result.timeouts },
  };
}
