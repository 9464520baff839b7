import { z } from 'zod';

import { env } from '../config.js';

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;

/** The one OTLP encoding this build exports (the Collector accepts it on its OTLP/HTTP port, 4318). */
const protocol = () =>
  z.preprocess((v) => (v === '' ? undefined : v), z.literal('http/json', { error: 'only http/json is supported (OTLP over HTTP with JSON bodies)' }).optional());

/**
 * The OpenTelemetry SDK's standard variables that turn tracing on and shape it, shared by every
 * process's config schema (spread into it, so each process's config module parses them; see
 * `startTracing`). Tracing is off unless an OTLP endpoint is set.
 */
export const tracingEnv = {
  /** OTLP/HTTP base URL, e.g. `http://otel-collector:4318`; traces go to `<it>/v1/traces`. Unset (with the next unset): tracing off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: env.optionalUrl(),
  /** The full traces URL, e.g. `http://otel-collector:4318/v1/traces`; wins over OTEL_EXPORTER_OTLP_ENDPOINT. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: env.optionalUrl(),
  /** @default 'http/json' // the only encoding of this build; `http/protobuf` and `grpc` are refused rather than silently ignored. */
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol(),
  /** The `service.name` of this process's spans; unset: `lotabots-<service>` (gateway, users, inference, …, worker). */
  OTEL_SERVICE_NAME: z.preprocess((v) => (v === '' ? undefined : v), z.string().regex(/^[A-Za-z0-9._-]{1,100}$/).optional()),
  /** @default 'parentbased_always_on' // the SDK's default: every trace the gateway starts, and every trace a caller sampled. */
  OTEL_TRACES_SAMPLER: z.enum(SAMPLERS).default('parentbased_always_on'),
  /** @default 1 // the ratio (0…1) of the `traceidratio` samplers. */
  OTEL_TRACES_SAMPLER_ARG: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().min(0).max(1).default(1)),
  /** @default false // true turns tracing off whatever else is set (the SDK's kill switch). */
  OTEL_SDK_DISABLED: env.bool(false),
};

export type TracingSettings = z.output<z.ZodObject<typeof tracingEnv>>;

/** Where spans are exported, or null when tracing is off. */
export function tracesUrlOf(settings: TracingSettings): string | null {
  if (settings.OTEL_SDK_DISABLED) return null;
  if (settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (!settings.OTEL_EXPORTER_OTLP_ENDPOINT) return null;
  return `${settings.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
}
