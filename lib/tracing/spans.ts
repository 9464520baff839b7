import { type Attributes, type Context, context, type Span, type SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';

/** Span names of one GraphQL operation's phases. */
export const PHASE_SPANS = {
  /** A GraphQL operation over WebSocket (over HTTP the request's own span stands for it). */
  operation: 'graphql.operation',
  parse: 'graphql.parse',
  validate: 'graphql.validate',
  execute: 'graphql.execute',
  subscribe: 'graphql.subscribe',
  /** The gateway's pricing and budget charge (gateway/cost), inside execute or subscribe. */
  cost: 'graphql.cost',
  /** Query planning, inside execute or subscribe: engines wrap it in `inSpan(tracer, PHASE_SPANS.plan, …)`. */
  plan: 'graphql.plan',
} as const;

/** The inference job a span worked on (the submission, the worker's run). */
export const ATTR_INFERENCE_JOB_ID = 'lotabots.inference.job_id';

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The span's parent context. @default context.active() */
  parent?: Context;
}

/**
 * Runs `fn` inside a new span named `name`, active for everything `fn` awaits (child spans,
 * the traceparent `traceHeaders` sends). The span ends when `fn` settles; a throw or rejection
 * marks it failed (the error's name only: messages may carry user input). Without a tracer
 * (tracing off) it is just `fn()`: this is the helper engines call around planning
 * (`PHASE_SPANS.plan`) and any phase worth its own span.
 */
export function inSpan<T>(tracer: Tracer | undefined, name: string, fn: (span: Span | undefined) => T, options: SpanOptions = {}): T {
  if (!tracer) return fn(undefined);
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(name, { kind: options.kind, attributes: options.attributes }, parent);
  let result: T;
  try {
    result = context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    endFailed(span, error);
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value: unknown) => {
        span.end();
        return value;
      },
      (error: unknown) => {
        endFailed(span, error);
        throw error;
      },
    ) as T;
  }
  span.end();
  return result;
}

/** Ends `span` as failed, naming the error's class (never its message: it may quote a prompt or a token). */
export function endFailed(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
  span.end();
}

