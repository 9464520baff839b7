import type { JobEvent } from '../lib/inference/index.js';

type TokenEvent = Extract<JobEvent, { type: 'token' }>;

/**
 * @default 512 // tokens waiting for the call in flight before `push` makes the generation
 * wait: a model server faster than Redis cannot fill the worker's memory.
 */
const MAX_WAITING = 512;

/**
 * Appends a job's tokens in order with one call in flight at a time: the tokens that arrive
 * meanwhile go together in the next call (`write`, e.g. `log.appendTokens`). A fast model
 * server then costs one Redis round trip per batch, not per token, and the first token still
 * leaves at once. Order holds because calls never overlap. Once a call is refused (null: the
 * job was cancelled or taken over) nothing more is written; a call that throws is rethrown by
 * the next `push` or `flush`.
 */
export function createTokenWriter(write: (tokens: TokenEvent[]) => Promise<number | null>) {
  let waiting: TokenEvent[] = [];
  let pumping = false;
  let writing: Promise<void> = Promise.resolve();
  let refused = false;
  let failure: { error: unknown } | null = null;

  const pump = async () => {
    pumping = true;
    try {
      while (waiting.length > 0 && !refused) {
        const batch = waiting;
        waiting = [];
        if ((await write(batch)) === null) refused = true;
      }
    } catch (error) {
      failure = { error };
    } finally {
      // Cleared in the same step as the last check of `waiting`: a token pushed after it starts a new pump.
      pumping = false;
    }
  };
  const settled = async () => {
    while (pumping) await writing;
    if (failure) throw failure.error;
  };

  return {
    /** Queues `token`; false once the log refused a call (stop generating). Waits only when MAX_WAITING tokens are queued. */
    async push(token: TokenEvent): Promise<boolean> {
      if (failure) throw failure.error;
      if (refused) return false;
      waiting.push(token);
      if (!pumping) writing = pump();
      if (waiting.length >= MAX_WAITING) await settled();
      return !refused;
    },
    /** Waits until every queued token is written; false when the log refused them. */
    async flush(): Promise<boolean> {
      await settled();
      return !refused;
    },
  };
}
