import type { Plugin } from 'graphql-yoga';

import { graphqlError } from './errors.js';

/**
 * @default 1_048_576 // 1 MiB at the gateway: GraphQL documents are a few hundred KB at
 * most, and a 20 MiB body once took down a gateway with a 384 MB heap.
 */
export const DEFAULT_GATEWAY_MAX_REQUEST_BODY_BYTES = 1_048_576;
/** @default 8_388_608 // 8 MiB at a subgraph: the gateway's entity batches are larger than any client document. */
export const DEFAULT_SUBGRAPH_MAX_REQUEST_BODY_BYTES = 8_388_608;

/**
 * Refuses a request body over `maxBytes` with HTTP 413 and `REQUEST_TOO_LARGE`, before the
 * body is parsed: a `Content-Length` over the limit is refused without reading a byte; a
 * body without one (chunked) is read up to the limit and refused as soon as it crosses it,
 * so at most `maxBytes` of it is ever held. The refusal closes the connection, which stops
 * the rest of the upload. A body within a declared `Content-Length` needs no counting: the
 * HTTP parser never delivers more than was declared.
 */
export function useRequestBodyLimit(maxBytes: number): Plugin {
  return {
    onRequest({ request, setRequest, endResponse, fetchAPI }) {
      if (!request.body) return;
      const tooLarge = () =>
        Response.json(
          { errors: [graphqlError('REQUEST_TOO_LARGE', `The request body is larger than ${maxBytes} bytes`)] },
          { status: 413, headers: { connection: 'close' } },
        );
      const declared = request.headers.get('content-length');
      if (declared !== null) {
        if (Number(declared) > maxBytes) endResponse(tooLarge());
        return;
      }
      return readAtMost(request.body, maxBytes).then((body) => {
        if (body === null) return endResponse(tooLarge());
        setRequest(new fetchAPI.Request(request.url, { method: request.method, headers: request.headers, body, signal: request.signal }));
      });
    },
  };
}

/** The whole stream as one buffer, or null (and the stream left unread) once it passes `maxBytes`. */
async function readAtMost(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array<ArrayBuffer> | null> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return concat(chunks, size);
    size += value.byteLength;
    if (size > maxBytes) {
      reader.releaseLock();
      return null;
    }
    chunks.push(value);
  }
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  const whole = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return whole;
}
