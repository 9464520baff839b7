/**
 * The `data:` payloads of a server-sent event stream, as OpenAI-compatible servers send
 * streaming completions: one JSON chunk per event, then `data: [DONE]`. Comments (`:` lines,
 * keep-alives) and other fields are skipped; a payload split over several `data:` lines is
 * joined with newlines, as the SSE specification says.
 */
export async function* sseData(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.search(/\r\n|\r|\n/)) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (data.length > 0) yield data.join('\n');
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
    }
  }
  // An event the stream ended before its blank line is dropped (SSE: "pending data must be discarded").
}
