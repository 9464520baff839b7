import { Readable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { sseData } from './sse.js';

/** A response body as undici hands it over: a Node stream of byte chunks. */
function streamOf(chunks: Array<string | Uint8Array>): Readable {
  const encoder = new TextEncoder();
  return Readable.from(chunks.map((chunk) => (typeof chunk === 'string' ? encoder.encode(chunk) : chunk)));
}

async function payloads(chunks: string[]): Promise<string[]> {
  const out: string[] = [];
  for await (const data of sseData(streamOf(chunks))) out.push(data);
  return out;
}

describe('sseData', () => {
  it('yields each event’s data, whatever the chunk boundaries (mid-line, mid-character)', async () => {
    const text = 'data: {"a":"é"}\n\ndata: [DONE]\n\n';
    const bytes = new TextEncoder().encode(text);
    const split = [bytes.slice(0, 9), bytes.slice(9, 14), bytes.slice(14)];
    const out: string[] = [];
    for await (const data of sseData(streamOf(split))) out.push(data);
    expect(out).toEqual(['{"a":"é"}', '[DONE]']);
  });

  it('skips comments and other fields, joins multi-line data and accepts CRLF', async () => {
    expect(await payloads([': keep-alive\r\n\r\nevent: x\r\ndata: one\r\ndata: two\r\nid: 3\r\n\r\n', 'data:three\n\n'])).toEqual(['one\ntwo', 'three']);
  });

  it('drops an event the stream ended in the middle of, as the SSE specification says (a cut-off [DONE] is no [DONE])', async () => {
    expect(await payloads(['data: one\n\ndata: [DONE]\n'])).toEqual(['one']);
  });
});
