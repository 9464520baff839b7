import type { JobRequest, ToolCall } from '../../lib/inference/index.js';

/**
 * What a backend streams: completion tokens in order, then the actions the model proposed
 * (when it proposed any) and (when it knows them) the token counts.
 */
export type BackendOutput =
  | { type: 'token'; text: string }
  | { type: 'toolCalls'; calls: ToolCall[] }
  | { type: 'usage'; promptTokens: number; completionTokens: number };

/** Failure codes a backend reports; they become the `failed` event's code. */
export type BackendErrorCode = 'BACKEND_ERROR' | 'BACKEND_TIMEOUT';

/**
 * A backend could not produce the completion: the upstream answered an error status, broke
 * off mid-stream or went silent. The message is safe to show the job's owner (no secret, no
 * upstream body beyond its error message).
 */
export class BackendError extends Error {
  override name = 'BackendError';
  constructor(
    readonly code: BackendErrorCode,
    message: string,
    /** The upstream's HTTP status, when it answered one. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * Generates completions for the models it serves. `generate` streams the completion of
 * `request.messages` for `request.model` (one of `models`), honouring max tokens,
 * temperature, top-p, stop sequences and seed; it ends quietly at the end of the completion,
 * throws `BackendError` when it fails, and stops soon after `signal` aborts (throwing or ending).
 */
export interface InferenceBackend {
  readonly name: 'builtin' | 'openai';
  /** Our model ids (the inference.Model table's), as registered for this worker. */
  readonly models: readonly string[];
  generate(request: JobRequest, signal: AbortSignal): AsyncIterable<BackendOutput>;
}
