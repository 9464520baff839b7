import { context } from '@opentelemetry/api';
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
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

import type { TracingSettings } from './config.js';
import type { ExporterFactory, Tracing } from './tracing.js';

/** OTLP over HTTP with JSON bodies (the SDK itself honours OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT and _COMPRESSION). */
export const otlpJsonExporter: ExporterFactory = (url) => new OTLPTraceExporter({ url });

/** Tracing on (see startTracing): spans batched and exported to `url`. */
export function startSdkTracing(settings: TracingSettings, url: string, defaultServiceName: string, createExporter: ExporterFactory = otlpJsonExporter): Tracing {
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
