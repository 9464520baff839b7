import type { JobEvent } from '../../../lib/inference/contract.js';
import type { StreamEvent } from './event-stream.js';
import type { JobState } from './metrics.js';

/** A numbered event as the `InferenceEvent` interface's concrete types present it. */
export type InferenceEventObject =
  | { __typename: 'InferenceQueuedEvent'; seq: number; at: string; jobId: string }
  | { __typename: 'InferenceStartedEvent'; seq: number; at: string; attempt: number }
  | { __typename: 'InferenceTokenEvent'; seq: number; index: number; text: string }
  | {
    __typename: 'InferenceCompletedEvent';
    seq: number;
    at: string;
    promptTokens: number;
    completionTokens: number;
    timeToFirstTokenMs: number;
    tokensPerSecond: number;
    cached: boolean;
  }
  | { __typename: 'InferenceFailedEvent'; seq: number; at: string; code: string; message: string }
  | { __typename: 'InferenceCancelledEvent'; seq: number; at: string };

/**
 * The GraphQL object of one event. The worker's id stays internal; the completed text is not
 * repeated (the client has the tokens, and the job has the text).
 */
export function toEventObject({ seq, event, jobId }: StreamEvent): InferenceEventObject {
  switch (event.type) {
    case 'queued':
      return { __typename: 'InferenceQueuedEvent', seq, at: event.at, jobId };
    case 'started':
      return { __typename: 'InferenceStartedEvent', seq, at: event.at, attempt: event.attempt };
    case 'token':
      return { __typename: 'InferenceTokenEvent', seq, index: event.index, text: event.text };
    case 'completed':
      return {
        __typename: 'InferenceCompletedEvent',
        seq,
        at: event.at,
        promptTokens: event.promptTokens,
        completionTokens: event.completionTokens,
        // Whole milliseconds: the schema's Int.
        timeToFirstTokenMs: Math.round(event.timeToFirstTokenMs),
        tokensPerSecond: event.tokensPerSecond,
        cached: event.cached,
      };
    case 'failed':
      return { __typename: 'InferenceFailedEvent', seq, at: event.at, code: event.code, message: event.message };
    case 'cancelled':
      return { __typename: 'InferenceCancelledEvent', seq, at: event.at };
  }
}

/** The job state each event moves a job to (tokens move none), for the jobs-by-state metric. */
export const STATE_AFTER = {
  queued: 'queued',
  started: 'running',
  token: null,
  completed: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
} as const satisfies Record<JobEvent['type'], JobState | null>;
