import { randomUUID } from 'node:crypto';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * @default 128 // characters: room for any tracing system's ids (a UUID is 36, a W3C trace id 32)
 * while a client cannot fill log lines with its own payload.
 */
export const MAX_REQUEST_ID_LENGTH = 128;

/** Characters a request id may carry: safe in a header, a log line and a URL, with no spaces or quotes. */
const WELL_FORMED = /^[A-Za-z0-9._:/+=-]+$/;

/** A client's or proxy's `x-request-id` when well-formed and at most MAX_REQUEST_ID_LENGTH long, else a new UUID. */
export function requestIdFrom(incoming: string | null | undefined): string {
  if (incoming && incoming.length <= MAX_REQUEST_ID_LENGTH && WELL_FORMED.test(incoming)) return incoming;
  return randomUUID();
}
