import type { Tracer } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

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

/** Tracing that is off: no tracer, nothing to flush. */
export const TRACING_OFF: Tracing = { tracer: undefined, forceFlush: async () => {}, shutdown: async () => {} };

/**
 * What starts each service's tracing with these settings: off (no provider, no exporter,
 * nothing registered) unless an OTLP endpoint is set. On, spans are batched and exported to it,
 * named `OTEL_SERVICE_NAME` or the service's default name. The provider is each service's own,
 * never the global one: the embedded platform runs several services in one process, each under
 * its own name. Only the context manager is global (one AsyncLocalStorage per process carries
 * the active span across awaits for every service, and for Apollo's own no-op spans). The
 * OpenTelemetry SDK and exporter (about 10 MB of RSS) are loaded only when tracing is on.
 */
export async function tracingStarter(settings: TracingSettings, createExporter?: ExporterFactory): Promise<(defaultServiceName: string) => Tracing> {
  const url = tracesUrlOf(settings);
  if (url === null) return () => TRACING_OFF;
  const { startSdkTracing } = await import('./sdk.js');
  return (defaultServiceName) => startSdkTracing(settings, url, defaultServiceName, createExporter);
}

/** One service's tracing from its config (see tracingStarter). */
export async function startTracing(settings: TracingSettings, defaultServiceName: string, createExporter?: ExporterFactory): Promise<Tracing> {
  return (await tracingStarter(settings, createExporter))(defaultServiceName);
}
