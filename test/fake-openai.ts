import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * A local HTTP server speaking the OpenAI streaming chat-completions protocol (SSE chunks,
 * `usage` in the last one, `data: [DONE]`), standing in for a GPU model server. How it
 * answers depends on the requested model name:
 * - `fast`: every token at once; `slow`: one token every `slowTokenMs`;
 * - `broken`: three tokens, then the connection is cut; `error-chunk`: two tokens, then an error chunk;
 * - `hang`: headers, then silence; `failing`: HTTP 500 with an OpenAI-style error body;
 * - `tool-call`: the tokens, then FAKE_TOOL_CALLS as `delta.tool_calls`, each call's arguments
 *   streamed in several pieces (finish reason `tool_calls`).
 * Token i is ` w<i>` (deterministic, so a regenerated completion repeats itself exactly),
 * up to `max_tokens` or `tokenCount`, whichever is less. A last message containing `pace=<ms>`
 * spaces the tokens of any model that streams by that many ms (the benchmark's long streams).
 */
export interface FakeOpenAi {
  /** The API root to configure as OPENAI_BASE_URL. */
  baseUrl: string;
  /** Every request received, in order. */
  requests: FakeRequest[];
  close(): Promise<void>;
}

export interface FakeRequest {
  model: string;
  body: Record<string, unknown>;
  authorization: string | undefined;
  /** The W3C `traceparent` header the worker sent (tracing on), else undefined. */
  traceparent: string | undefined;
  /** The content of the last message (where a test or benchmark puts its marker). */
  lastMessage: string;
  /** `performance.now()` when the request's body had arrived, and when the first token was handed to the socket. */
  receivedAt: number;
  firstTokenAt: number | null;
  /** Resolves when the client closed the connection before the response ended (an aborted request). */
  aborted: Promise<void>;
}

export interface FakeOpenAiOptions {
  /** @default 16 */
  tokenCount?: number;
  /** @default 50 */
  slowTokenMs?: number;
}

export const fakeToken = (index: number) => ` w${index}`;

/** The actions the `tool-call` model proposes, as a client assembles them; `pieces` is how each call's arguments are streamed. */
export const FAKE_TOOL_CALLS = [
  { id: 'call_email', name: 'send_email', pieces: ['{"to": "ada@', 'example.com", "subj', 'ect": "hello"}'] },
  { id: 'call_archive', name: 'archive_thread', pieces: ['{"thread', '": "t-1"}'] },
].map(({ id, name, pieces }) => ({ id, name, pieces, arguments: pieces.join('') }));

export async function startFakeOpenAi(options: FakeOpenAiOptions = {}): Promise<FakeOpenAi> {
  const requests: FakeRequest[] = [];
  const server = createServer((req, res) => void answer(req, res));
  const tokenCount = options.tokenCount ?? 16;
  const slowTokenMs = options.slowTokenMs ?? 50;

  async function answer(req: IncomingMessage, res: ServerResponse) {
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    const receivedAt = performance.now();
    const body = JSON.parse(raw) as { model: string; max_tokens: number; messages: Array<{ content: string }> };
    const lastMessage = body.messages.at(-1)?.content ?? '';
    const pace = /pace=(\d+)/.exec(lastMessage);
    let markAborted!: () => void;
    const aborted = new Promise<void>((resolve) => (markAborted = resolve));
    res.on('close', () => {
      if (!res.writableFinished) markAborted();
    });
    const request: FakeRequest = { model: body.model, body, authorization: req.headers.authorization, traceparent: req.headers.traceparent as string | undefined, lastMessage, receivedAt, firstTokenAt: null, aborted };
    requests.push(request);
    if (req.url !== '/v1/chat/completions') return void res.writeHead(404).end();
    if (body.model === 'failing') {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'model overloaded' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    if (body.model === 'hang') return;
    const count = Math.min(body.max_tokens, tokenCount);
    // Resolves once the chunk is handed to the socket, so a cut after it cannot swallow it.
    const send = (payload: unknown) => new Promise((resolve) => res.write(`data: ${JSON.stringify(payload)}\n\n`, resolve));
    await send({ choices: [{ index: 0, delta: { role: 'assistant' } }] });
    for (let i = 0; i < count; i++) {
      if (res.destroyed) return;
      if (body.model === 'broken' && i === 3) return void res.destroy();
      if (body.model === 'error-chunk' && i === 2) return void res.end(`data: ${JSON.stringify({ error: { message: 'CUDA out of memory' } })}\n\n`);
      const delayMs = pace ? Number(pace[1]) : body.model === 'slow' ? slowTokenMs : 0;
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      await send({ choices: [{ index: 0, delta: { content: fakeToken(i) }, finish_reason: null }] });
      request.firstTokenAt ??= performance.now();
    }
    if (body.model === 'tool-call') {
      for (const [index, call] of FAKE_TOOL_CALLS.entries()) {
        const [first, ...rest] = call.pieces;
        await send({ choices: [{ index: 0, delta: { tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: first } }] } }] });
        for (const piece of rest) await send({ choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: piece } }] } }] });
      }
    }
    await send({ choices: [{ index: 0, delta: {}, finish_reason: body.model === 'tool-call' ? 'tool_calls' : 'length' }] });
    await send({ choices: [], usage: { prompt_tokens: 7, completion_tokens: count, total_tokens: 7 + count } });
    res.end('data: [DONE]\n\n');
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
