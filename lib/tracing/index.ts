export { tracingEnv, type TracingSettings } from './config.js';
export { remoteContextOf, traceHeaders } from './propagation.js';
export { ATTR_INFERENCE_JOB_ID, endFailed, inSpan, PHASE_SPANS, type SpanOptions } from './spans.js';
export { type ExporterFactory, startTracing, type Tracing, tracingStarter } from './tracing.js';
export { ATTR_GRAPHQL_OPERATION_NAME, ATTR_GRAPHQL_OPERATION_TYPE, useTracing } from './use-tracing.js';
