import { type Context, context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';
import { type ExecutionArgs, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';

import { connectionParamsOf } from '../graphql-ws-server.js';
import { remoteContextOf } from './propagation.js';
import { inSpan, PHASE_SPANS } from './spans.js';


/** The GraphQL semantic conventions' attribute names (incubating there, so copied, as OpenTelemetry advises). */
export const ATTR_GRAPHQL_OPERATION_NAME = 'graphql.operation.name';
export const ATTR_GRAPHQL_OPERATION_TYPE = 'graphql.operation.type';

export interface TracingPluginOptions {
  tracer: Tracer;
  /** The GraphQL path; other paths (health, readiness, GraphiQL assets) get no span. */
  graphqlEndpoint: string;
  /**
   * Continue the trace the caller sent (`traceparent` header, or connection param over
   * WebSocket). True for subgraphs, whose one caller is the gateway; false for the gateway,
   * where a public caller must not pick trace ids or force sampling.
   */
  joinCallerTrace: boolean;
}

/**
 * A span per GraphQL request (HTTP) or per WebSocket operation, with a child span per phase:
 * parse, validate, and execute or subscribe (which covers the `onExecute` hooks and the
 * execution, so the gateway's cost, plan and subgraph-fetch spans nest under it). The span is
 * active (AsyncLocalStorage) for everything the phase awaits. Attributes: HTTP method, path
 * and status, operation name and type; never the document, variables or headers, which can
 * carry prompts and credentials. Install it only when tracing is on (`Tracing.tracer`).
 */
export function useTracing(options: TracingPluginOptions): Plugin {
  const { tracer } = options;
  const requestSpans = new WeakMap<Request, Span>();
  /** WebSocket operations' spans, by their envelop context (one per operation; HTTP's live in requestSpans). */
  const operationSpans = new WeakMap<object, Span>();
  const parentOf = (operation: object): Context => {
    const span = operationSpans.get(operation);
    return span ? trace.setSpan(context.active(), span) : context.active();
  };
  const endOperation = (operation: object, failure?: string) => {
    const span = operationSpans.get(operation);
    if (!span) return;
    operationSpans.delete(operation);
    if (failure) span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
    span.end();
  };
  /** Wraps one synchronous phase (parse, validate) in its span. */
  const phase = (name: string) => (payload: { context: object }, wrapped: () => void) =>
    inSpan(tracer, name, () => wrapped(), { parent: parentOf(payload.context) });
  /** Wraps execute or subscribe; a WebSocket operation's own span ends with it (a subscription's once it is set up). */
  const lastPhase = (name: string) => async (payload: { context: object }, wrapped: () => void | Promise<void>) => {
    try {
      await inSpan(tracer, name, () => wrapped(), { parent: parentOf(payload.context) });
    } finally {
      endOperation(payload.context);
    }
  };
  const noteOperation = ({ args }: { args: ExecutionArgs }) => {
    const operationContext = args.contextValue as { request?: Request };
    const span = operationSpans.get(operationContext) ?? (operationContext.request && requestSpans.get(operationContext.request));
    const operation = getOperationAST(args.document, args.operationName);
    if (!span || !operation) return;
    span.setAttribute(ATTR_GRAPHQL_OPERATION_TYPE, operation.operation);
    if (operation.name) span.setAttribute(ATTR_GRAPHQL_OPERATION_NAME, operation.name.value);
  };

  return {
    instrumentation: {
      async request({ request }, wrapped) {
        const path = new URL(request.url).pathname;
        if (path !== options.graphqlEndpoint) return wrapped();
        const parent = options.joinCallerTrace ? remoteContextOf(request.headers) : ROOT_CONTEXT;
        const span = tracer.startSpan(
          `${request.method} ${path}`,
          { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: request.method, [ATTR_URL_PATH]: path } },
          parent,
        );
        requestSpans.set(request, span);
        try {
          await context.with(trace.setSpan(parent, span), wrapped);
        } finally {
          span.end();
        }
      },
      init(payload, wrapped) {
        // Outside an HTTP request's span: an operation over WebSocket, which gets a span of its own.
        if (!trace.getSpan(context.active())) {
          const carrier = options.joinCallerTrace ? connectionParamsOf(payload.context) : undefined;
          operationSpans.set(payload.context, tracer.startSpan(PHASE_SPANS.operation, { kind: SpanKind.SERVER }, remoteContextOf(carrier)));
        }
        wrapped();
      },
      parse: phase(PHASE_SPANS.parse),
      validate: phase(PHASE_SPANS.validate),
      execute: lastPhase(PHASE_SPANS.execute),
      subscribe: lastPhase(PHASE_SPANS.subscribe),
    },
    onParse: ({ context: operation }) => ({ result }) => {
      if (result instanceof Error) endOperation(operation, 'GRAPHQL_PARSE_FAILED');
    },
    onValidate: ({ context: operation }) => ({ result }) => {
      if (result.length > 0) endOperation(operation, 'GRAPHQL_VALIDATION_FAILED');
    },
    onExecute: noteOperation,
    onSubscribe: noteOperation,
    onResponse({ request, response }) {
      requestSpans.get(request)?.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
    },
  };
}
