/**
 * The part of autocannon 9's programmatic API the benchmark uses (the package ships no types).
 * See node_modules/autocannon/README.md, "API".
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    /** One HTTP connection. Events, in order for each response: 'response', then 'mismatch' if `verifyBody` rejected it. */
    interface Client extends EventEmitter {
      on(event: 'response', listener: (statusCode: number, bytes: number, durationMs: number, rate: number) => void): this;
      on(event: 'mismatch', listener: (body: string) => void): this;
      on(event: string, listener: (...args: unknown[]) => void): this;
    }

    interface Options {
      url: string;
      method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
      headers?: Record<string, string>;
      body?: string;
      /** Concurrent connections. @default 10 */
      connections?: number;
      /** Seconds to run (fractions allowed). @default 10 */
      duration?: number;
      /** Seconds before a request counts as timed out. @default 10 */
      timeout?: number;
      /** Called with each connection once it is created (not in worker mode). */
      setupClient?: (client: Client) => void;
      /** False marks the response as a mismatch (not in worker mode). */
      verifyBody?: (body: string) => boolean;
    }

    /** An hdr-histogram-percentiles-obj summary. */
    interface Histogram {
      average: number;
      mean: number;
      stddev: number;
      min: number;
      max: number;
      total: number;
      p50: number;
      p99: number;
    }

    interface Result {
      /** Seconds the measured window actually lasted. */
      duration: number;
      /** Socket errors (refused, reset, …); timeouts included. */
      errors: number;
      timeouts: number;
      mismatches: number;
      non2xx: number;
      resets: number;
      latency: Histogram;
      requests: Histogram & { sent: number };
      throughput: Histogram;
    }

    interface Instance extends EventEmitter, PromiseLike<Result> {
      stop(): void;
    }
  }

  function autocannon(options: autocannon.Options): autocannon.Instance;
  export = autocannon;
}
