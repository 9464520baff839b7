import { isAsyncIterable } from '@envelop/core';
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const BOUNDARY = 'graphql';
const PART_HEADER = `\r\n--${BOUNDARY}\r\ncontent-type: application/json; charset=utf-8\r\n\r\n`;
const END = `\r\n--${BOUNDARY}--\r\n`;

/** Apollo clients announce the protocol with `multipart/mixed;subscriptionSpec=1.0` in Accept. */
const wantsApolloMultipart = (request: Request) =>
  (request.headers.get('accept') ?? '')
    .toLowerCase()
    .split(',')
    .some((type) => type.includes('multipart/mixed') && /subscriptionspec="?1\.0"?/.test(type.replace(/\s/g, '')));

/**
 * Apollo's multipart HTTP protocol for subscriptions (what Apollo Client's HttpLink, and its
 * urql and Relay adapters, speak): one `{"payload": result}` part per event, a `{}` part
 * every `heartbeatMs` so proxies and clients know the stream is alive, and a closing
 * boundary when the subscription completes. Yoga alone serves subscriptions only over SSE.
 */
export function useMultipartSubscriptions(heartbeatMs: number): Plugin {
  return {
    onResultProcess({ request, result, setResultProcessor, acceptableMediaTypes }) {
      if (!wantsApolloMultipart(request)) return;
      acceptableMediaTypes.push('multipart/mixed');
      if (!isAsyncIterable(result)) return;
      setResultProcessor((stream, fetchAPI) => {
        const iterator = (stream as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator]();
        const encoder = new fetchAPI.TextEncoder();
        let heartbeat: NodeJS.Timeout | undefined;
        let closed = false;
        const body = new fetchAPI.ReadableStream<Uint8Array>({
          start(controller) {
            heartbeat = setInterval(() => {
              if (!closed) controller.enqueue(encoder.encode(`${PART_HEADER}{}`));
            }, heartbeatMs);
            heartbeat.unref();
            controller.enqueue(encoder.encode(`${PART_HEADER}{}`));
          },
          async pull(controller) {
            const { done, value } = await iterator.next();
            if (closed) return;
            if (done) {
              closed = true;
              clearInterval(heartbeat);
              controller.enqueue(encoder.encode(END));
              controller.close();
              return;
            }
            controller.enqueue(encoder.encode(`${PART_HEADER}${JSON.stringify({ payload: withoutInternals(value) })}`));
          },
          async cancel() {
            closed = true;
            clearInterval(heartbeat);
            await iterator.return?.();
          },
        });
        return new fetchAPI.Response(body, {
          status: 200,
          headers: {
            'content-type': `multipart/mixed;boundary="${BOUNDARY}";subscriptionSpec="1.0"`,
            'cache-control': 'no-cache',
          },
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
