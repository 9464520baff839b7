/**
 * The inference bus: how the inference subgraph and the workers meet (see
 * /work/brief/inference-contract.md and lib/inference/README.md). Two implementations of
 * these interfaces: Redis streams (`redis-bus.ts`, production and tests) and in memory
 * (`in-process-bus.ts`, `npm start` without Redis). `createInferenceBus` picks one.
 */

/** enterprise → high, pro → normal, free and anything else → low. */
export type QueuePriority = 'high' | 'normal' | 'low';

/** Highest first: the order workers take from the queues. */
export const QUEUE_PRIORITIES: readonly QueuePriority[] = ['high', 'normal', 'low'];

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export type AutonomyLevel = 'ASSISTED' | 'COLLABORATOR' | 'EXPERT' | 'AGENT';

export interface JobRequest {
  jobId: string;
  userId: string;
  /** Model id as in the inference.Model table. */
  model: string;
  /** The system prompt for the autonomy level already first. */
  messages: ChatMessage[];
  maxTokens: number;
  temperature: number;
  topP: number;
  stop: string[];
  seed: number | null;
  /** NO_AI never reaches the queue. */
  autonomyLevel: AutonomyLevel;
  priority: QueuePriority;
  /** ISO-8601. */
  enqueuedAt: string;
  /**
   * W3C trace context of the request that submitted the job (lib/tracing `traceHeaders`), so
   * the worker's spans and its backend call join that request's trace. Absent when the
   * submitting subgraph does not trace.
   */
  traceparent?: string;
  tracestate?: string;
}

/**
 * An action the model proposed (an OpenAI-style tool call), as the worker assembled it from
 * the streamed pieces: `id` the model's call id (unique within the job), `name` the tool,
 * `arguments` the JSON text of its arguments.
 */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** Codes of `failed` events the worker writes; the subgraph may add its own. */
export type FailureCode = 'BACKEND_ERROR' | 'BACKEND_TIMEOUT' | 'WORKER_LOST' | 'UNKNOWN_MODEL' | 'INVALID_JOB' | (string & {});

export type JobEvent =
  /**
   * `userId`: the job's owner, so that whoever streams the log can check access from the log
   * alone, without the job's row. Every `queue.submit` and cache hit writes it.
   */
  | { type: 'queued'; at: string; userId?: string }
  | { type: 'started'; at: string; workerId: string; attempt: number }
  /** `index` 0, 1, 2… of the completion's tokens. */
  | { type: 'token'; index: number; text: string }
  | {
    type: 'completed';
    at: string;
    promptTokens: number;
    completionTokens: number;
    timeToFirstTokenMs: number;
    tokensPerSecond: number;
    text: string;
    cached: boolean;
    /** The actions the model proposed, in the order it numbered them; absent when none. */
    toolCalls?: ToolCall[];
  }
  | { type: 'failed'; at: string; code: FailureCode; message: string }
  | { type: 'cancelled'; at: string };

export type JobEventType = JobEvent['type'];

/** `seq` 1, 2, 3… per job, without gaps. */
export interface NumberedJobEvent {
  seq: number;
  event: JobEvent;
}

export const TERMINAL_EVENTS = ['completed', 'failed', 'cancelled'] as const;

export const isTerminal = (event: JobEvent): boolean => (TERMINAL_EVENTS as readonly string[]).includes(event.type);

/** Events that also go to the lifecycle feed (the subgraph's view of a job's progress). */
export const isLifecycleEvent = (event: JobEvent): boolean => event.type === 'started' || isTerminal(event);

/** The worker's claim on a job: only appends carrying the attempt of the latest `started` are accepted. */
export interface Fence {
  attempt: number;
}

export interface ReadOptions {
  /** At most this many events per call. */
  count: number;
  /** Wait up to this long when there is no event after `after`; 0 answers at once. */
  blockMs: number;
}

/** One log per job: Redis stream `inference:job:<jobId>:events`. */
export interface JobEventLog {
  /**
   * Appends `event` as seq = last + 1, atomically, and answers the seq; null when refused:
   * - the job already has a terminal event (nothing follows completed, failed or cancelled);
   * - `fence` is given and its attempt is not that of the latest `started`;
   * - `event` is a `started` whose attempt is not above the latest `started`'s (two workers
   *   that reclaim the same job cannot both start attempt n).
   * A terminal event sets the log's expiry to the retention; every other append refreshes a
   * 24 h safety expiry. `started` and terminal events also go to the lifecycle feed; each
   * `token` counts one in the platform's `metrics:tokens:out`.
   */
  append(jobId: string, event: JobEvent, fence?: Fence): Promise<number | null>;
  /**
   * Appends `tokens` (one or more, in order) as `append` would one after another, in one
   * atomic step: all or none, the last one's seq, or null when refused (as `append` with
   * `fence`). A worker sends the tokens that arrive while one call is in flight together.
   */
  appendTokens(jobId: string, tokens: ReadonlyArray<Extract<JobEvent, { type: 'token' }>>, fence: Fence): Promise<number | null>;
  /** Events with seq > `after`, in order; waits up to `blockMs` when there are none yet. */
  read(jobId: string, after: number, options: ReadOptions): Promise<NumberedJobEvent[]>;
  /** The latest event, or null when the job has none (or its log expired). */
  lastEvent(jobId: string): Promise<NumberedJobEvent | null>;
}

/** A job handed to one worker (consumer) and not yet acknowledged. */
export interface Delivery {
  /** The queue entry's id. */
  id: string;
  priority: QueuePriority;
  job: JobRequest;
  /** Taken over from another consumer whose hold went idle (a dead worker's job). */
  reclaimed: boolean;
}

/** Streams `inference:queue:high|normal|low`, consumer group `inference-workers`. */
export interface JobQueue {
  /**
   * A new job, in one atomic step (one Redis round trip on the submit path): its log's first
   * event, `queued` at `job.enqueuedAt`, and its queue entry, so no worker sees a job whose
   * log lacks it; counted like `enqueue`. Rejects, changing nothing, when the job has a log already.
   */
  submit(job: JobRequest): Promise<void>;
  /**
   * Puts a job (back) on the queue, its log untouched: a worker shutting down requeues it so.
   * Each counts one in the platform's `metrics:jobs:enqueued` (the scaling advisor's arrivals).
   */
  enqueue(job: JobRequest): Promise<void>;
  /** Jobs waiting, not yet delivered to any worker, over every priority. */
  depth(): Promise<number>;
  /** The next job for `consumer`, highest priority first; null after `blockMs` without one. */
  take(consumer: string, options: { blockMs: number }): Promise<Delivery | null>;
  /**
   * Jobs delivered (to any consumer) and idle for at least `minIdleMs`, at most `max`
   * (@default 10), now held by `consumer`: a dead worker's jobs.
   */
  reclaim(consumer: string, minIdleMs: number, max?: number): Promise<Delivery[]>;
  /** Resets the delivery's idle time; false when `consumer` no longer holds it (it was reclaimed). */
  keepAlive(consumer: string, delivery: Delivery): Promise<boolean>;
  /** Removes the job from the queue; false (and nothing done) when `consumer` no longer holds it. */
  ack(consumer: string, delivery: Delivery): Promise<boolean>;
}

/** One `started` or terminal event, as the lifecycle feed delivers it. */
export interface LifecycleEntry {
  /** The feed entry's id, to acknowledge it. */
  id: string;
  jobId: string;
  seq: number;
  event: JobEvent;
}

/** Stream `inference:lifecycle`, consumer group `inference-subgraph`. */
export interface LifecycleFeed {
  /** Entries not yet delivered to any consumer, oldest first; waits up to `blockMs` for one. */
  take(consumer: string, options: ReadOptions): Promise<LifecycleEntry[]>;
  /** Entries delivered to other consumers and idle for at least `minIdleMs` (a dead subgraph's), now held by `consumer`. */
  reclaim(consumer: string, minIdleMs: number): Promise<LifecycleEntry[]>;
  ack(ids: string[]): Promise<void>;
}

export interface InferenceBus {
  log: JobEventLog;
  queue: JobQueue;
  lifecycle: LifecycleFeed;
  /** Releases the connections the bus opened itself (the client it was given stays open). */
  close(): Promise<void>;
}

export interface InferenceBusOptions {
  /**
   * @default 3_600 // s: how long a finished job's log stays readable (INFERENCE_STREAM_TTL_SECONDS),
   * long enough for a client to reconnect and read the end; the final text is on the job row.
   */
  streamTtlSeconds: number;
}

/** @default 86_400 // s: a log that is never finished (its job lost elsewhere) still goes away. */
export const SAFETY_TTL_SECONDS = 86_400;

/** @default 100_000 // lifecycle entries kept: the subgraph can be down for a long while without losing any. */
export const LIFECYCLE_MAX_LENGTH = 100_000;

/** @default 30_000 // ms: the longest a blocking call waits, whatever the caller asks. */
export const MAX_BLOCK_MS = 30_000;
