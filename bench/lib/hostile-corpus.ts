import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';

/** What one request got: its HTTP status, or the connection closed (or timed out) before an answer. */
export type HostileOutcome = number | 'closed' | 'timeout';

/** One kind of hostile request, sent to the gateway's `/graphql` URL on a connection of its own. */
export interface HostileRequest {
  name: string;
  /** Statuses a gateway that holds up answers with. */
  expected: readonly number[];
  /**
   * The gateway may close the connection under an upload it refused: the client can hit the
   * closed socket (EPIPE, ECONNRESET) before it reads the 413.
   */
  closeAllowed: boolean;
  send(url: string): Promise<HostileOutcome>;
}

const MiB = 1024 * 1024;
/** @default 30_000 // ms before a hostile request counts as timed out and its socket is destroyed */
const REQUEST_TIMEOUT_MS = 30_000;
const UPLOAD_CHUNK = Buffer.alloc(64 * 1024, 'a');

/** A body of `totalBytes` sent 64 KiB at a time (the same buffer: the client holds almost nothing). */
function* repeatedChunks(totalBytes: number): Generator<Buffer> {
  for (let sent = 0; sent < totalBytes; sent += UPLOAD_CHUNK.length) yield UPLOAD_CHUNK;
}

/**
 * Sends one POST with node:http on a connection of its own, writing `chunks` with
 * backpressure and stopping as soon as the answer arrives. Never rejects.
 */
export function sendRaw(url: string, headers: Record<string, string>, chunks: Iterable<Buffer>): Promise<HostileOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: HostileOutcome) => {
      if (settled) return;
      settled = true;
      request.destroy();
      resolve(outcome);
    };
    const request = httpRequest(url, { method: 'POST', headers, agent: false, timeout: REQUEST_TIMEOUT_MS }, (response) => {
      response.resume();
      response.on('end', () => settle(response.statusCode!));
      response.on('error', () => settle(response.statusCode!));
    });
    request.on('timeout', () => settle('timeout'));
    request.on('error', () => settle('closed'));
    const pending = chunks[Symbol.iterator]();
    const pump = () => {
      while (!settled) {
        const next = pending.next();
        if (next.done) return void request.end();
        if (!request.write(next.value)) return void request.once('drain', pump);
      }
    };
    pump();
  });
}

/** `{ a0: __typename a1: __typename … }`: 20,000 aliases (~650 KB), under the body limit, far over the document limits. */
const ALIASES = `{ ${Array.from({ length: 20_000 }, (_, i) => `alias${i}: __typename`).join(' ')} }`;
/** `{a{a{…}}}` 10,000 selection sets deep: graphql-js's recursion overflows the stack at about 2,000. */
const DEEP = `${'{a'.repeat(10_000)}${'}'.repeat(10_000)}`;
/** An 8,000-byte Accept header of media types nobody serves. */
const LONG_ACCEPT = Array.from({ length: 1_000 }, (_, i) => `application/x-${i}`).join(',').slice(0, 8_000);
const OVERSIZED_BYTES = 20 * MiB;

/** The 20 MiB anonymous POSTs that once took the gateway's heap past 384 MB: with a Content-Length, and chunked. */
export const oversizedBodies: readonly HostileRequest[] = [
  {
    name: '20 MiB body, Content-Length',
    expected: [413],
    closeAllowed: true,
    send: (url) => sendRaw(url, { 'content-type': 'application/json', 'content-length': String(OVERSIZED_BYTES) }, repeatedChunks(OVERSIZED_BYTES)),
  },
  {
    name: '20 MiB body, chunked',
    expected: [413],
    closeAllowed: true,
    send: (url) => sendRaw(url, { 'content-type': 'application/json' }, repeatedChunks(OVERSIZED_BYTES)),
  },
];

/**
 * The hostile corpus: every kind of request that once cost the gateway memory, CPU or metric
 * series it should not have, and what a gateway that holds up answers each with.
 */
export const hostileCorpus: readonly HostileRequest[] = [
  ...oversizedBodies,
  { name: '650 KB alias document', expected: [400], closeAllowed: false, send: (url) => sendJson(url, { query: ALIASES }) },
  { name: '10,000-deep nesting', expected: [400], closeAllowed: false, send: (url) => sendJson(url, { query: DEEP }) },
  { name: '8 KB Accept header', expected: [406], closeAllowed: false, send: (url) => sendJson(url, { query: '{ __typename }' }, { accept: LONG_ACCEPT }) },
  {
    name: 'invalid JSON',
    expected: [400],
    closeAllowed: false,
    send: (url) => sendRaw(url, { 'content-type': 'application/json', 'content-length': '12' }, [Buffer.from('{"query": {{')]),
  },
  {
    name: 'invented operation name',
    expected: [200],
    closeAllowed: false,
    send: (url) => sendJson(url, { query: `query Invented${randomBytes(6).toString('hex')} { __typename }` }),
  },
  {
    name: 'random API key',
    // Unknown key; past AUTH_FAILURE_LIMIT_PER_IP failures from this address, refused before any lookup.
    expected: [401, 429],
    closeAllowed: false,
    send: (url) => sendJson(url, { query: '{ __typename }' }, { 'x-api-key': `lb_${randomBytes(24).toString('base64url')}` }),
  },
];

function sendJson(url: string, body: unknown, extra: Record<string, string> = {}): Promise<HostileOutcome> {
  const bytes = Buffer.from(JSON.stringify(body));
  return sendRaw(url, { 'content-type': 'application/json', accept: 'application/json', 'content-length': String(bytes.length), ...extra }, [bytes]);
}

/** Whether an outcome is what a gateway that holds up answers `request` with. */
export function isExpected(request: HostileRequest, outcome: HostileOutcome): boolean {
  return typeof outcome === 'number' ? request.expected.includes(outcome) : outcome === 'closed' && request.closeAllowed;
}
