import { createCounter, createHistogram, usePrometheus, type FillLabelsFnParams } from '@graphql-yoga/plugin-prometheus';
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
 *
 * Subscriptions are left out of the operation metrics (the `subscribe` phase): to observe one,
 * the plugin wraps its stream, and at 10,000 open subscriptions those wrappers cost the gateway
 * tens of MB. A service that executes subscriptions counts them where they run (the gateway's
 * `gateway/subscriptions/metrics.ts`); failed parses and validations of subscription documents
 * are still counted here.
 */
export function useGraphqlMetrics(registry: Registry) {
  const operationLabels = ['operationType', 'operationName'] as const;
  const ofOperation = (params: FillLabelsFnParams) => ({ operationType: params.operationType ?? '', operationName: params.operationName ?? '' });
  return usePrometheus({
    registry,
    endpoint: false,
    labels: { url: false },
    metrics: {
      graphql_envelop_request: createCounter({
        registry,
        counter: { name: `${METRIC_NAMESPACE}_graphql_requests_total`, help: 'GraphQL queries and mutations executed.', labelNames: operationLabels },
        fillLabelsFn: ofOperation,
        phases: ['execute'],
      }),
      graphql_envelop_request_duration: createHistogram({
        registry,
        histogram: {
          name: `${METRIC_NAMESPACE}_graphql_request_duration_seconds`,
          help: 'Time from parse to the end of execution of GraphQL queries and mutations.',
          labelNames: operationLabels,
        },
        fillLabelsFn: ofOperation,
        phases: ['execute'],
      }),
      graphql_envelop_request_time_summary: false,
      graphql_envelop_phase_parse: `${METRIC_NAMESPACE}_graphql_parse_duration_seconds`,
      graphql_envelop_phase_validate: `${METRIC_NAMESPACE}_graphql_validate_duration_seconds`,
      graphql_envelop_phase_context: false,
      graphql_envelop_phase_execute: `${METRIC_NAMESPACE}_graphql_execute_duration_seconds`,
      graphql_envelop_phase_subscribe: false,
      graphql_envelop_error_result: createCounter({
        registry,
        counter: {
          name: `${METRIC_NAMESPACE}_graphql_errors_total`,
          help: 'Errors in GraphQL results, by the phase that produced them.',
          labelNames: [...operationLabels, 'phase'],
        },
        fillLabelsFn: (params) => ({ ...ofOperation(params), phase: params.errorPhase }),
        phases: ['parse', 'validate', 'context', 'execute'],
      }),
      graphql_envelop_deprecated_field: false,
      graphql_envelop_schema_change: false,
      graphql_yoga_http_duration: `${METRIC_NAMESPACE}_http_request_duration_seconds`,
    },
  });
}
