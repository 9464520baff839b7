import { type Context, context, ROOT_CONTEXT, type TextMapGetter, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * W3C Trace Context (`traceparent`, `tracestate`), used directly rather than through the API's
 * global propagator: nothing global is set, and every hop (HTTP header, WebSocket connection
 * param, Redis job field) speaks the same format.
 */
const w3c = new W3CTraceContextPropagator();

/** Reads a carrier that is a plain record (headers as an object, WebSocket connection params, a job). */
const recordGetter: TextMapGetter<Readonly<Record<string, unknown>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return typeof value === 'string' ? value : undefined;
  },
};

const headersGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

/**
 * `traceparent` (and `tracestate`) of the span active in `ctx`, to send to the next hop; empty
 * when no span is active (tracing off), so a caller can always spread it into its headers.
 */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  if (!trace.getSpan(ctx)) return {};
  const carrier: Record<string, string> = {};
  w3c.inject(ctx, carrier, { set: (target, key, value) => (target[key] = value) });
  return carrier;
}

/**
 * The remote parent a caller sent, as a context to start spans in: HTTP headers, or an object
 * carrying `traceparent` (WebSocket connection params, an inference job). The root context
 * when there is none.
 */
export function remoteContextOf(carrier: Headers | object | undefined): Context {
  if (!carrier) return ROOT_CONTEXT;
  // Not `instanceof Headers`: Yoga's requests carry @whatwg-node's Headers, another class.
  return isHeaders(carrier)
    ? w3c.extract(ROOT_CONTEXT, carrier, headersGetter)
    : w3c.extract(ROOT_CONTEXT, carrier as Readonly<Record<string, unknown>>, recordGetter);
}

const isHeaders = (carrier: object): carrier is Headers => typeof (carrier as Partial<Headers>).get === 'function' && typeof (carrier as Partial<Headers>).keys === 'function';
