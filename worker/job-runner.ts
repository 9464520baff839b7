import { performance } from 'node:perf_hooks';

import { SpanKind, type Tracer } from '@opentelemetry/api';

import type { Clock } from '../lib/clock.js';
import { type Delivery, type Fence, type InferenceBus, isTerminal, type JobEvent, type JobRequest, type NumberedJobEvent, type ToolCall } from '../lib/inference/index.js';
import type { Logger } from '../lib/logger.js';
import { remoteContextOf } from '../lib/tracing/propagation.js';
import { ATTR_INFERENCE_JOB_ID, inSpan } from '../lib/tracing/spans.js';
import { BackendError, type InferenceBackend } from './backends/index.js';
import type { JobOutcome, WorkerMetrics } from './metrics.js';
import { createTokenWriter } from './token-writer.js';

export interface JobRunnerDeps {
  bus: InferenceBus;
  backend: InferenceBackend;
  metrics: WorkerMetrics;
  logger: Logger;
  clock: Clock;
  workerId: string;
  /** Attempts (first run and takeovers) before a job fails WORKER_LOST. */
  maxAttempts: number;
  /** How often a running job's hold on its queue entry is refreshed (well under the reclaim idle time). */
  keepAliveMs: number;
  /** When set (tracing on), each run is a span in the trace of the request that submitted the job. */
  tracer?: Tracer | undefined;
}

/** The span of one run of a job, and its attributes besides the job id. */
export const JOB_RUN_SPAN = 'inference.job';
const ATTR_MODEL = 'lotabots.inference.model';
const ATTR_OUTCOME = 'lotabots.inference.outcome';

/** Why a running job stopped before its end: the worker no longer owns it, or is shutting down. */
type Interruption = 'refused' | 'lost' | 'shutdown';

/**
 * Temperature 0 or a fixed seed: running the request again yields the same tokens, so a job
 * whose worker died after some tokens can be resumed by regenerating and skipping them.
 */
export const isDeterministic = (job: JobRequest) => job.temperature === 0 || job.seed !== null;

/**
 * `outputs` with its first output already asked for, so that the backend request is under way
 * before anyone iterates. Dropped without iterating (its signal aborted), the request's failure
 * is nobody's.
 */
function underWay<T>(outputs: AsyncIterable<T>): AsyncIterable<T> {
  const iterator = outputs[Symbol.asyncIterator]();
  let first: Promise<IteratorResult<T>> | null = iterator.next();
  first.catch(() => {});
  return {
    [Symbol.asyncIterator]: () => ({
      next() {
        const next = first ?? iterator.next();
        first = null;
        return next;
      },
      return: async (value?: unknown) => (await iterator.return?.(value)) ?? { done: true, value: undefined },
    }),
  };
}

/** @default 1_000 // events per read while loading a job's history. */
const HISTORY_PAGE = 1_000;

async function historyOf(bus: InferenceBus, jobId: string): Promise<NumberedJobEvent[]> {
  const events: NumberedJobEvent[] = [];
  for (;;) {
    const page = await bus.log.read(jobId, events.at(-1)?.seq ?? 0, { count: HISTORY_PAGE, blockMs: 0 });
    events.push(...page);
    if (page.length < HISTORY_PAGE) return events;
  }
}

/** A rough prompt size for backends that report none: ~4 characters per token for English. */
const estimateTokens = (job: JobRequest) => Math.ceil(job.messages.reduce((sum, message) => sum + message.content.length, 0) / 4);

/**
 * Runs one job from the queue to its end and says how it left this worker. A job fresh from
 * the queue is started as attempt 1 at once; when the log refuses that, or the job was
 * reclaimed, its event log decides: a job already finished (cancelled while queued) is
 * acknowledged and skipped; a job another worker began (a reclaimed one) is attempt n + 1, resumed without
 * repeating a token when its request is deterministic, and otherwise failed WORKER_LOST.
 * Every append carries the attempt as fence: when it is refused (the job was cancelled or
 * taken over) the backend request is aborted. `shutdown` aborting requeues the job.
 */
export function runJob(delivery: Delivery, deps: JobRunnerDeps, shutdown: AbortSignal): Promise<JobOutcome> {
  if (!deps.tracer) return runJobSteps(delivery, deps, shutdown);
  const { job } = delivery;
  return inSpan(
    deps.tracer,
    JOB_RUN_SPAN,
    async (span) => {
      const outcome = await runJobSteps(delivery, deps, shutdown);
      span?.setAttribute(ATTR_OUTCOME, outcome);
      return outcome;
    },
    // The backend call inside sends this span's traceparent (worker/backends/openai).
    { kind: SpanKind.CONSUMER, parent: remoteContextOf(job), attributes: { [ATTR_INFERENCE_JOB_ID]: job.jobId, [ATTR_MODEL]: job.model } },
  );
}

async function runJobSteps(delivery: Delivery, deps: JobRunnerDeps, shutdown: AbortSignal): Promise<JobOutcome> {
  const { bus, workerId } = deps;
  const { job } = delivery;
  const at = () => deps.clock.now().toISOString();
  const append = (event: JobEvent, fence?: Fence) => bus.log.append(job.jobId, event, fence);
  const ack = () => bus.queue.ack(workerId, delivery);
  /** Back on the queue at once, so another worker needs no idle time to pass; if this fails the entry stays held and is reclaimed. */
  const requeue = async (): Promise<JobOutcome> => {
    await bus.queue.enqueue(job);
    await ack();
    return 'requeued';
  };
  /** Appends the end of the job (refused: someone else ended it or took it over) and releases the queue entry. */
  const finish = async (event: JobEvent, fence: Fence, outcome: JobOutcome): Promise<JobOutcome> => {
    const appended = await append(event, fence);
    await ack();
    return appended === null ? 'lost' : outcome;
  };

  const start = (attempt: number) => append({ type: 'started', at: at(), workerId, attempt });
  // A job fresh from the queue (the common case) is started as attempt 1 straight away, saving
  // the history read before its first token, and its backend request leaves with that
  // `started` rather than after it (the model's first token is what the client waits for);
  // the log refuses `started` when the job was started before (requeued, taken over) or has
  // ended (cancelled while queued): that request is then dropped, and the history decides.
  let emitted: string[] = [];
  let fence: Fence = { attempt: 1 };
  let controller = new AbortController();
  const served = deps.backend.models.includes(job.model);
  const requestedAt = performance.now();
  let outputs = !delivery.reclaimed && !shutdown.aborted && served ? underWay(deps.backend.generate(job, controller.signal)) : null;
  let startedFresh = false;
  if (outputs) {
    try {
      startedFresh = (await start(1)) !== null;
    } finally {
      if (!startedFresh) {
        controller.abort('refused');
        outputs = null;
        controller = new AbortController();
      }
    }
  }
  if (!startedFresh) {
    const history = await historyOf(bus, job.jobId);
    if (history.length > 0 && isTerminal(history.at(-1)!.event)) {
      await ack();
      return 'skipped';
    }
    const previous = Math.max(0, ...history.map(({ event }) => (event.type === 'started' ? event.attempt : 0)));
    emitted = history.flatMap(({ event }) => (event.type === 'token' ? [event.text] : []));
    const lost = (message: string) => finish({ type: 'failed', at: at(), code: 'WORKER_LOST', message }, { attempt: previous }, 'failed');
    if (previous >= deps.maxAttempts) return lost(`the job lost its worker ${previous} times`);
    if (emitted.length > 0 && !isDeterministic(job)) {
      return lost(`its worker stopped after ${emitted.length} tokens; a request with temperature above 0 and no seed cannot be resumed`);
    }

    if (shutdown.aborted) return requeue();
    fence = { attempt: previous + 1 };
    if ((await start(fence.attempt)) === null) {
      await ack();
      return 'skipped';
    }
  }
  if (!served) {
    return finish({ type: 'failed', at: at(), code: 'UNKNOWN_MODEL', message: `no worker serves model ${job.model}` }, fence, 'failed');
  }

  const interrupt = (reason: Interruption) => controller.abort(reason);
  const onShutdown = () => interrupt('shutdown');
  shutdown.addEventListener('abort', onShutdown, { once: true });
  if (shutdown.aborted) interrupt('shutdown');
  const keepAlive = setInterval(() => {
    bus.queue.keepAlive(workerId, delivery).then(
      (held) => held || interrupt('lost'),
      (error: unknown) => deps.logger.warn({ err: error, jobId: job.jobId }, 'job keep-alive failed'),
    );
  }, deps.keepAliveMs);

  const startedAt = outputs ? requestedAt : performance.now();
  let firstTokenAt: number | null = null;
  let usage: { promptTokens: number; completionTokens: number } | null = null;
  let toolCalls: ToolCall[] = [];
  const texts = [...emitted];
  let position = 0;
  let failure: { code: string; message: string } | null = null;
  const tokens = createTokenWriter(async (batch) => {
    const seq = await bus.log.appendTokens(job.jobId, batch, fence);
    // The first call carries the first token: it is the client's once it is in the log.
    firstTokenAt ??= performance.now();
    return seq;
  });
  try {
    for await (const output of outputs ?? deps.backend.generate(job, controller.signal)) {
      if (output.type === 'usage') {
        usage = output;
        continue;
      }
      if (output.type === 'toolCalls') {
        toolCalls = output.calls;
        continue;
      }
      // Resuming: the regenerated tokens the client already has are checked, not sent again.
      if (position < emitted.length) {
        if (output.text !== emitted[position]) {
          failure = { code: 'WORKER_LOST', message: `its worker stopped after ${emitted.length} tokens and the regenerated completion differs, so it cannot be resumed` };
          break;
        }
        position++;
        continue;
      }
      if (!(await tokens.push({ type: 'token', index: position, text: output.text }))) {
        interrupt('refused');
        break;
      }
      texts.push(output.text);
      position++;
    }
  } catch (error) {
    if (controller.signal.aborted) {
      // Interrupted: the backend's error is the consequence, not the cause.
    } else if (error instanceof BackendError) {
      deps.metrics.backendErrors.inc({ code: error.code });
      failure = { code: error.code, message: error.message };
    } else {
      // Redis failed under us: nothing can be written, so the job stays held and is taken over once idle.
      controller.abort();
      throw error;
    }
  } finally {
    clearInterval(keepAlive);
    shutdown.removeEventListener('abort', onShutdown);
  }
  // The tokens still on their way go into the log before whatever ends the job; the log
  // refusing them (cancelled, taken over) interrupts it like a refused token during the stream.
  let written: boolean;
  try {
    written = await tokens.flush();
  } catch (error) {
    controller.abort();
    throw error;
  }
  if (!written && !controller.signal.aborted) interrupt('refused');

  const interruption = controller.signal.aborted ? (controller.signal.reason as Interruption) : null;
  if (interruption === 'shutdown') return requeue();
  if (interruption === 'lost') return 'lost';
  if (interruption === 'refused') {
    await ack();
    return (await bus.log.lastEvent(job.jobId))?.event.type === 'cancelled' ? 'cancelled' : 'lost';
  }
  if (failure) return finish({ type: 'failed', at: at(), ...failure }, fence, 'failed');

  const seconds = Math.max(performance.now() - startedAt, 1) / 1_000;
  const completionTokens = usage?.completionTokens ?? texts.length;
  const completed: JobEvent = {
    type: 'completed',
    at: at(),
    promptTokens: usage?.promptTokens ?? estimateTokens(job),
    completionTokens,
    timeToFirstTokenMs: firstTokenAt === null ? 0 : Math.round(firstTokenAt - startedAt),
    tokensPerSecond: Math.round((completionTokens / seconds) * 100) / 100,
    text: texts.join(''),
    cached: false,
    ...(toolCalls.length > 0 ? { toolCalls } : {}),
  };
  const outcome = await finish(completed, fence, 'completed');
  if (outcome === 'completed') {
    if (firstTokenAt !== null) deps.metrics.timeToFirstToken.observe((firstTokenAt - startedAt) / 1_000);
    deps.metrics.tokensPerSecond.observe(completed.tokensPerSecond);
  }
  return outcome;
}
