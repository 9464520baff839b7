import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** Every metric this platform exports starts with this. */
export const METRIC_NAMESPACE = 'lotabots';

/**
 * A registry owned by one service instance (never prom-client's global one, so that several
 * services in one process, as in the embedded start or tests, keep separate metrics).
 * Each series carries `service="<name>"`.
 */
export function createMetricsRegistry(service: string, options: { processMetrics: boolean }): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: `${METRIC_NAMESPACE}_` });
  return registry;
}

/**
 * GraphQL operation metrics served at `/metrics`: request count and duration, parse, validate
 * and execute phases, error results, and HTTP duration (without the URL label, whose values a
 * client controls).
 */
export function useGraphqlMetrics(registry: Registry) {
  return usePrometheus({
    registry,
    endpoint: '/metrics',
    labels: { url: false },
    metrics: {
      graphql_envelop_request: `${METRIC_NAMESPACE}_graphql_requests_total`,
      graphql_envelop_request_duration: `${METRIC_NAMESPACE}_graphql_request_duration_seconds`,
      graphql_envelop_request_time_summary: false,
      graphql_envelop_phase_parse: `${METRIC_NAMESPACE}_graphql_parse_duration_seconds`,
      graphql_envelop_phase_validate: `${METRIC_NAMESPACE}_graphql_validate_duration_seconds`,
      graphql_envelop_phase_context: false,
      graphql_envelop_phase_execute: `${METRIC_NAMESPACE}_graphql_execute_duration_seconds`,
      graphql_envelop_phase_subscribe: `${METRIC_NAMESPACE}_graphql_subscribe_duration_seconds`,
      graphql_envelop_error_result: `${METRIC_NAMESPACE}_graphql_errors_total`,
      graphql_envelop_deprecated_field: false,
      graphql_envelop_schema_change: false,
      graphql_yoga_http_duration: `${METRIC_NAMESPACE}_http_request_duration_seconds`,
    },
  });
}
