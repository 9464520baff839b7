import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

/**
 * How one multipart format frames a stream of results. Every write is a complete part: it
 * ends with the boundary delimiter, because clients (Apollo Client's `readMultipartBody`,
 * meros) hand a part on only when they see the boundary after it. A part written without
 * its closing boundary would wait for the next write, a heartbeat later.
 */
interface MultipartFraming {
  contentType: string;
  /** Written first: the opening delimiter. */
  opening: string;
  /** One part (its headers and body) and the delimiter after it. */
  part(json: string, byteLength: number): string;
  /** Written last, after the final delimiter, to make it the close delimiter (`--graphql--`). */
  closing: string;
  /** What goes on the wire for one result. */
  body(result: ExecutionResult): unknown;
  /** A part written at once and every `heartbeatMs`, or none. */
  heartbeat?: string;
}

/**
 * Apollo's multipart subscription protocol, byte for byte as Apollo Router writes it
 * (`apollo-router/src/protocols/multipart.rs`): `\r\n--graphql` once, then per part
 * `\r\ncontent-type: application/json\r\n\r\n{json}\r\n--graphql`, results wrapped as
 * `{"payload": result}`, `{}` heartbeats, and `--\r\n` to close.
 */
const APOLLO: MultipartFraming = {
  contentType: 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"',
  opening: '\r\n--graphql',
  part: (json) => `\r\ncontent-type: application/json\r\n\r\n${json}\r\n--graphql`,
  closing: '--\r\n',
  body: (result) => ({ payload: withoutInternals(result) }),
  heartbeat: '{}',
};

/**
 * The incremental delivery format (`@defer`/`@stream` over HTTP; what graphql-helix, Yoga
 * for queries, meros and `fetch-multipart-graphql` read), as Yoga writes it: `---`
 * boundary, a `Content-Length` per part, the plain result as the body, no heartbeats.
 */
const INCREMENTAL: MultipartFraming = {
  contentType: 'multipart/mixed; boundary="-"',
  opening: '\r\n---',
  part: (json, byteLength) => `\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${byteLength}\r\n\r\n${json}\r\n---`,
  closing: '--\r\n',
  body: withoutInternals,
};

async function* oneResult(result: ExecutionResult): AsyncIterable<ExecutionResult> {
  yield result;
}

/** Media types of the Accept header, in the client's order, lower case, with their parameters. */
const acceptedTypes = (request: Request) =>
  (request.headers.get('accept') ?? '')
    .toLowerCase()
    .replace(/\s/g, '')
    .split(',')
    .map((entry) => {
      const [type = '', ...params] = entry.split(';');
      return { type, params };
    });

/**
 * Which multipart format a subscription request asks for: Apollo's when Accept announces
 * `multipart/mixed;subscriptionSpec=1.0`; the incremental format when it lists plain
 * `multipart/mixed` before any type Yoga answers with SSE (urql asks for
 * `text/event-stream, multipart/mixed` and gets SSE, as it prefers); otherwise none.
 */
function framingFor(request: Request): MultipartFraming | null {
  const types = acceptedTypes(request);
  if (types.some(({ type, params }) => type === 'multipart/mixed' && params.some((p) => /^subscriptionspec="?1\.0"?$/.test(p)))) return APOLLO;
  const multipart = types.findIndex(({ type }) => type === 'multipart/mixed');
  const sse = types.findIndex(({ type }) => type === 'text/event-stream' || type === 'text/*' || type === '*/*');
  return multipart >= 0 && (sse < 0 || multipart < sse) ? INCREMENTAL : null;
}

/**
 * Subscriptions over multipart HTTP, which Yoga alone refuses (it streams subscriptions only
 * over SSE, and answers 406 to `Accept: multipart/mixed`): Apollo's protocol (what Apollo
 * Client's HttpLink, and its urql and Relay adapters, speak) and the incremental delivery
 * format. A stream ends with the close delimiter when the subscription completes.
 */
export function useMultipartSubscriptions(heartbeatMs: number): Plugin {
  return {
    onResultProcess({ request, result, setResultProcessor, acceptableMediaTypes }) {
      const framing = framingFor(request);
      if (!framing) return;
      acceptableMediaTypes.push('multipart/mixed');
      // A single result (a subscription refused before it started) is one incremental part; a
      // client asking only for that format would otherwise get a 406 without the error's code.
      // Apollo's clients also accept JSON, which Yoga answers such a result with.
      if (!isAsyncIterable(result) && framing !== INCREMENTAL) return;
      setResultProcessor((processed, fetchAPI) => {
        const stream = isAsyncIterable(processed) ? (processed as AsyncIterable<ExecutionResult>) : oneResult(processed as ExecutionResult);
        const iterator = stream[Symbol.asyncIterator]();
        const encoder = new fetchAPI.TextEncoder();
        const encodePart = (json: string) => {
          const bytes = encoder.encode(json).byteLength;
          return encoder.encode(framing.part(json, bytes));
        };
        let heartbeat: NodeJS.Timeout | undefined;
        let closed = false;
        const body = new fetchAPI.ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(encoder.encode(framing.opening));
            const beat = framing.heartbeat;
            if (beat === undefined) return;
            controller.enqueue(encodePart(beat));
            heartbeat = setInterval(() => {
              if (!closed) controller.enqueue(encodePart(beat));
            }, heartbeatMs);
            heartbeat.unref();
          },
          async pull(controller) {
            const { done, value } = await iterator.next();
            if (closed) return;
            if (done) {
              closed = true;
              clearInterval(heartbeat);
              controller.enqueue(encoder.encode(framing.closing));
              controller.close();
              return;
            }
            controller.enqueue(encodePart(JSON.stringify(framing.body(value))));
          },
          async cancel() {
            closed = true;
            clearInterval(heartbeat);
            await iterator.return?.();
          },
        });
        return new fetchAPI.Response(body, {
          status: 200,
          headers: { 'content-type': framing.contentType, 'cache-control': 'no-cache' },
        });
      }, 'multipart/mixed');
    },
  };
}

/** Drops Yoga's internal `extensions.http` (status hints) from what goes on the wire. */
function withoutInternals(result: ExecutionResult): Record<string, unknown> {
  const withoutHttp = (extensions: Record<string, unknown> | undefined) => {
    if (!extensions || !('http' in extensions)) return extensions;
    const { http: _http, ...rest } = extensions;
    return Object.keys(rest).length > 0 ? rest : undefined;
  };
  const errors = result.errors?.map((error) => {
    const json = 'toJSON' in error ? error.toJSON() : (error as Record<string, unknown>);
    return { ...json, extensions: withoutHttp(json.extensions as Record<string, unknown> | undefined) };
  });
  return { ...result, errors, extensions: withoutHttp(result.extensions as Record<string, unknown> | undefined) };
}
