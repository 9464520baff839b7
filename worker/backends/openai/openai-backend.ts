import { request as httpRequest } from 'undici';

import { traceHeaders } from '../../../lib/tracing/propagation.js';
import { BackendError, type BackendOutput, type InferenceBackend } from '../backend.js';
import { sseData } from './sse.js';
import { createToolCallAssembler, type ToolCallDelta } from './tool-calls.js';

export interface OpenAiBackendOptions {
  /** The server's API root, e.g. `http://vllm:8000/v1` (requests go to `<baseUrl>/chat/completions`). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …` when set. A secret: never logged, never in an error. */
  apiKey?: string | undefined;
  /** Our model id → the upstream's model name; its keys are the models this backend serves. */
  modelMap: Record<string, string>;
  /** Until the response headers arrive. */
  connectTimeoutMs: number;
  /** From the headers to the first token (the prompt is processed meanwhile). */
  firstTokenTimeoutMs: number;
  /** Between two chunks once tokens flow. */
  idleTimeoutMs: number;
}

interface CompletionChunk {
  choices?: Array<{ delta?: { content?: string | null; tool_calls?: ToolCallDelta[] | null } }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string } | string;
}

/** @default 200 // characters of an upstream's error message passed on to the job's owner. */
const MAX_UPSTREAM_MESSAGE = 200;

/**
 * Any OpenAI-compatible server (vLLM, TGI, llama.cpp server, Ollama) through streaming chat
 * completions: one SSE chunk per token, `[DONE]` at the end, `usage` in the last chunk when
 * the server honours `stream_options.include_usage`. Tool calls the model streams
 * (`delta.tool_calls`) are assembled (`tool-calls.ts`) and handed on after the last token.
 * An error status, a chunk carrying an error, a malformed tool call, or a stream that ends
 * before `[DONE]` is BACKEND_ERROR; silence past a timeout is
 * BACKEND_TIMEOUT. Ending the iteration early (cancellation) closes the connection, which
 * makes these servers stop generating.
 */
export function createOpenAiBackend(options: OpenAiBackendOptions): InferenceBackend {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  return {
    name: 'openai',
    models: Object.keys(options.modelMap),
    async *generate(request, signal): AsyncGenerator<BackendOutput> {
      const upstreamModel = options.modelMap[request.model];
      if (upstreamModel === undefined) throw new BackendError('BACKEND_ERROR', `model ${request.model} is not served by this backend`);
      const controller = new AbortController();
      const forwardAbort = () => controller.abort(signal.reason);
      signal.addEventListener('abort', forwardAbort, { once: true });
      let timer: NodeJS.Timeout | undefined;
      let timedOut: string | null = null;
      const deadline = (ms: number, what: string) => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          timedOut = `${what} within ${ms} ms`;
          controller.abort();
        }, ms);
      };
      const failure = (error: unknown): unknown => {
        if (error instanceof BackendError) return error;
        if (timedOut) return new BackendError('BACKEND_TIMEOUT', `the model server sent no ${timedOut}`);
        if (signal.aborted) return error;
        const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
        const code = (cause as { code?: unknown } | null)?.code;
        return new BackendError('BACKEND_ERROR', `the connection to the model server failed${typeof code === 'string' ? ` (${code})` : ''}`);
      };
      try {
        deadline(options.connectTimeoutMs, 'response');
        // undici's own API, not fetch: no WHATWG Request, Headers and stream layers around every
        // job and every chunk (the worker runs hundreds of streams); same keep-alive pool.
        const response = await httpRequest(url, {
          method: 'POST',
          // The job's span is active here: the model server's own tracing (vLLM's, say) joins the trace.
          headers: { ...headers, ...traceHeaders() },
          body: JSON.stringify({
            model: upstreamModel,
            messages: request.messages,
            max_tokens: request.maxTokens,
            temperature: request.temperature,
            top_p: request.topP,
            ...(request.stop.length > 0 ? { stop: request.stop } : {}),
            ...(request.seed !== null ? { seed: request.seed } : {}),
            stream: true,
            stream_options: { include_usage: true },
          }),
          signal: controller.signal,
        });
        if (response.statusCode < 200 || response.statusCode > 299) {
          const detail = await upstreamMessage(response.body);
          throw new BackendError('BACKEND_ERROR', `the model server answered HTTP ${response.statusCode}${detail ? `: ${detail}` : ''}`, response.statusCode);
        }
        deadline(options.firstTokenTimeoutMs, 'first token');
        let usage: BackendOutput | null = null;
        let finished = false;
        let outputStarted = false;
        const toolCalls = createToolCallAssembler();
        for await (const payload of sseData(response.body)) {
          if (payload.trim() === '[DONE]') {
            finished = true;
            break;
          }
          const chunk = parseChunk(payload);
          if (chunk.error) throw new BackendError('BACKEND_ERROR', `the model server failed mid-stream: ${errorText(chunk.error)}`);
          if (chunk.usage?.completion_tokens !== undefined) {
            usage = { type: 'usage', promptTokens: chunk.usage.prompt_tokens ?? 0, completionTokens: chunk.usage.completion_tokens };
          }
          const delta = chunk.choices?.[0]?.delta;
          const text = delta?.content;
          if (delta?.tool_calls) toolCalls.add(delta.tool_calls);
          // A piece of a proposed action is output as a token is: from the first, the idle limit applies.
          outputStarted ||= Boolean(text) || Boolean(delta?.tool_calls);
          if (outputStarted) deadline(options.idleTimeoutMs, 'next chunk');
          if (text) yield { type: 'token', text };
        }
        if (!finished) throw new BackendError('BACKEND_ERROR', 'the model server ended the stream before [DONE]');
        const calls = toolCalls.finish();
        if (calls.length > 0) yield { type: 'toolCalls', calls };
        if (usage) yield usage;
      } catch (error) {
        throw failure(error);
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', forwardAbort);
        // Ended early (cancelled, failed): closing the connection tells the server to stop.
        controller.abort();
      }
    },
  };
}

function parseChunk(payload: string): CompletionChunk {
  try {
    return JSON.parse(payload) as CompletionChunk;
  } catch {
    throw new BackendError('BACKEND_ERROR', 'the model server sent a chunk that is not JSON');
  }
}

const errorText = (error: CompletionChunk['error']) =>
  (typeof error === 'string' ? error : (error?.message ?? 'unknown error')).slice(0, MAX_UPSTREAM_MESSAGE);

/** The `error.message` of an error response's JSON body, if it has one. */
async function upstreamMessage(response: { json(): Promise<unknown> }): Promise<string | null> {
  try {
    const body = (await response.json()) as CompletionChunk;
    return body.error ? errorText(body.error) : null;
  } catch {
    return null;
  }
}
