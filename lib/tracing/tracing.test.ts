import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { ConfigError, parseEnv } from '../config.js';
import { tracingEnv } from './config.js';
import { traceHeaders } from './propagation.js';
import { inSpan } from './spans.js';
import { startTracing } from './tracing.js';

const settings = (env: Record<string, string>) => parseEnv(z.object(tracingEnv), env);

/** An exporter factory that records the URLs it was asked for and keeps spans in memory. */
function countingExporters() {
  const urls: string[] = [];
  const exporter = new InMemorySpanExporter();
  return { urls, exporter, create: (url: string) => (urls.push(url), exporter) };
}

describe('startTracing', () => {
  it('is off without an endpoint: no tracer, no exporter created', async () => {
    const exporters = countingExporters();
    const tracing = await startTracing(settings({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' }), 'lotabots-gateway', exporters.create);
    expect(tracing.tracer).toBeUndefined();
    expect(exporters.urls).toEqual([]);
    await tracing.shutdown();
  });

  it('is off with OTEL_SDK_DISABLED=true even with an endpoint', async () => {
    const exporters = countingExporters();
    const tracing = await startTracing(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }), 'lotabots-gateway', exporters.create);
    expect(tracing.tracer).toBeUndefined();
    expect(exporters.urls).toEqual([]);
  });

  it('exports to <endpoint>/v1/traces, or to the traces endpoint when that is set, under the service name', async () => {
    const base = countingExporters();
    await startTracing(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }), 'lotabots-gateway', base.create);
    expect(base.urls).toEqual(['http://collector:4318/v1/traces']);

    const exporters = countingExporters();
    const tracing = await startTracing(
      settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/in', OTEL_SERVICE_NAME: 'edge-gateway' }),
      'lotabots-gateway',
      exporters.create,
    );
    expect(exporters.urls).toEqual(['http://traces:9999/in']);
    await expect(inSpan(tracing.tracer, 'work', async () => Promise.reject(new TypeError('the prompt was: secret')))).rejects.toThrow(TypeError);
    await tracing.forceFlush();
    const [span] = exporters.exporter.getFinishedSpans();
    expect(span!.name).toBe('work');
    expect(span!.resource.attributes['service.name']).toBe('edge-gateway');
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'TypeError' });
    await tracing.shutdown();
  });

  it('honours the sampler: always_off records nothing and sends an unsampled traceparent', async () => {
    const exporters = countingExporters();
    const tracing = await startTracing(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_SAMPLER: 'always_off' }), 'lotabots-worker', exporters.create);
    const headers = inSpan(tracing.tracer, 'work', () => traceHeaders());
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    await tracing.forceFlush();
    expect(exporters.exporter.getFinishedSpans()).toEqual([]);
    await tracing.shutdown();
  });
});

describe('inSpan and traceHeaders with tracing off', () => {
  it('runs the function without a span, and there is no trace context to send', () => {
    expect(inSpan(undefined, 'work', (span) => [span, traceHeaders()])).toEqual([undefined, {}]);
  });
});

describe('tracing settings', () => {
  it('refuses an encoding this build cannot send, naming the variable', () => {
    expect(() => settings({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' })).toThrow(ConfigError);
    expect(() => settings({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' })).toThrow(/OTEL_EXPORTER_OTLP_TRACES_PROTOCOL/);
    expect(() => settings({ OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
  });
});
