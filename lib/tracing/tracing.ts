import { context, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

import { tracesUrlOf, type TracingSettings } from './config.js';

/** One process's (or one embedded service's) tracing. */
export interface Tracing {
  /**
   * Where this service's spans start; undefined when tracing is off, so callers skip span work
   * altogether (no no-op spans on the request path).
   */
  readonly tracer: Tracer | undefined;
  /** Exports every span ended so far (tests wait on it; shutdown calls it). */
  forceFlush(): Promise<void>;
  /** Flushes, then stops exporting. Called once, last, when the process stops. */
  shutdown(): Promise<void>;
}

/** Makes the exporter for a traces URL (injected by tests that count or inspect exporters). */
export type ExporterFactory = (url: string) => SpanExporter;

/** OTLP over HTTP with JSON bodies (the SDK itself honours OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT and _COMPRESSION). */
export const otlpJsonExporter: ExporterFactory = (url) => new OTLPTraceExporter({ url });

/** Tracing that is off: no tracer, nothing to flush. */
export const TRACING_OFF: Tracing = { tracer: undefined, forceFlush: async () => {}, shutdown: async () => {} };

/**
 * Starts tracing for one service from its config: off (no provider, no exporter, nothing
 * registered) unless an OTLP endpoint is set. On, spans are batched and exported to it, named
 * `OTEL_SERVICE_NAME` or `defaultServiceName`. The provider is this service's own, never the
 * global one: the embedded platform runs several services in one process, each under its own
 * name. Only the context manager is global (one AsyncLocalStorage per process carries the
 * active span across awaits for every service, and for Apollo's own no-op spans).
 */
export function startTracing(settings: TracingSettings, defaultServiceName: string, createExporter: ExporterFactory = otlpJsonExporter): Tracing {
  const url = tracesUrlOf(settings);
  if (url === null) return TRACING_OFF;
  ensureContextManager();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.OTEL_SERVICE_NAME ?? defaultServiceName }),
    sampler: samplerOf(settings),
    spanProcessors: [new BatchSpanProcessor(createExporter(url))],
  });
  return {
    tracer: provider.getTracer('lotabots'),
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

function samplerOf(settings: TracingSettings): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(settings.OTEL_TRACES_SAMPLER_ARG);
  switch (settings.OTEL_TRACES_SAMPLER) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

let contextManagerInstalled = false;

/** The API's global context manager, installed once per process by the first service that traces. */
function ensureContextManager(): void {
  if (contextManagerInstalled) return;
  contextManagerInstalled = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}
