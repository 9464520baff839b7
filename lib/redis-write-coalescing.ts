import type { Writable } from 'node:stream';

import type { Redis } from 'ioredis';

/**
 * ioredis writes every command to its socket as it is sent, one `write` syscall each (and
 * each one wakes Redis): a gateway request sends several (credential checks, the cost
 * charge, the usage event), and on a loaded 2-core machine those syscalls were 20–30 % of
 * the gateway's CPU. ioredis' own `enableAutoPipelining` batches per `process.nextTick`
 * (about one command per batch here) and builds a Pipeline per batch, which cost more CPU
 * than it saved. This instead corks the socket at the first write of an event-loop turn and
 * uncorks it in a `setImmediate`, so every command written by the requests handled in that
 * turn leaves in one `writev`, with nothing of ours allocated per command. `setImmediate` runs in the
 * same turn, right after the I/O callbacks: a lone request does not wait for a timer.
 * The trade, measured on the gateway: on one connection each command is still alone in its
 * turn and the cork and immediate cost about 4 % more CPU per request, p50 unchanged; under
 * 20 connections about 30 commands share a write and a request costs 4–18 % less CPU.
 */
export function coalesceRedisWrites(redis: Redis): void {
  // ioredis opens a new socket (a TLSSocket with rediss://) on every (re)connect. 'connect' fires
  // before the client is ready, so before any caller's command can be written to that socket.
  redis.on('connect', () => coalesceWritesPerTurn(redis.stream));
}

/** Makes everything written to `stream` in one event-loop turn leave in one `writev` at the end of that turn. */
function coalesceWritesPerTurn(stream: Writable): void {
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  const write = stream.write;
  // Explicit parameters rather than `...args`: no array per command.
  stream.write = function coalescedWrite(this: Writable, chunk: unknown, encoding?: unknown, callback?: unknown) {
    if (!corked) {
      corked = true;
      stream.cork();
      setImmediate(uncork);
    }
    return (write as (chunk: unknown, encoding?: unknown, callback?: unknown) => boolean).call(this, chunk, encoding, callback);
  } as Writable['write'];
}
