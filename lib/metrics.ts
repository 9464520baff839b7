import { createCounter, createHistogram, type FillLabelsFnParams, usePrometheus } from '@graphql-yoga/plugin-prometheus';
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

/** @default 200 // distinct operation names a process gives their own metric label (see `createOperationNameLabeler`). */
export const DEFAULT_METRICS_MAX_OPERATION_NAMES = 200;

/** The label of an operation whose name is not admitted, and of a name that is not a GraphQL name. */
export const UNKNOWN_OPERATION = 'unknown';

/** The label of an operation without a name (the envelop Prometheus plugin's own word for it). */
const ANONYMOUS_OPERATION = 'Anonymous';

/** A GraphQL name (the spec's `Name`), of a sensible length. */
const OPERATION_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;

export interface OperationNameLabelOptions {
  /** Distinct names that get their own label, first come first served; later ones are `unknown`. 0: none. */
  maxNames: number;
  /**
   * Names that always get their own label, beyond `maxNames`: the names of trusted
   * (persisted) documents, which an operator bounds. The persisted-queries feature feeds it.
   */
  isKnownOperation?: (name: string) => boolean;
}

/**
 * Maps the operation name a client chose to a metric label, keeping the number of series
 * bounded: every distinct label value is a series per metric (a histogram's is a dozen)
 * that prom-client keeps forever, so names invented per request would grow memory and
 * `/metrics` without end.
 *
 * Admission, not eviction: the first `maxNames` distinct names keep their label for the
 * life of the process, any other is `unknown`. Evicting (LRU) would also bound memory if
 * each evicted name's series were removed, but a stream of invented names would then churn
 * series endlessly (counters that vanish and reappear from zero, and a new series in
 * Prometheus for each) and push out the real operations' names anyway. With admission, a
 * process's real operations, which it sees from its first minutes, keep stable series;
 * names of trusted documents are labelled whatever came first. Anonymous operations are
 * `Anonymous`; no name (a document that did not parse) is the empty label.
 */
export function createOperationNameLabeler(options: OperationNameLabelOptions): (name: string | undefined) => string {
  const admitted = new Set<string>([ANONYMOUS_OPERATION]);
  const isKnown = options.isKnownOperation ?? (() => false);
  return (name) => {
    if (!name) return '';
    if (admitted.has(name) || isKnown(name)) return name;
    if (admitted.size > options.maxNames || !OPERATION_NAME.test(name)) return UNKNOWN_OPERATION;
    admitted.add(name);
    return name;
  };
}

/**
 * GraphQL operation metrics served at `/metrics`: request count and duration, parse, validate
 * and execute phases, error results, and HTTP duration (without the URL label, whose values a
 * client controls), each labelled by operation type and by operation name through
 * `createOperationNameLabeler` (every metric of the plugin is defined here, so none falls
 * back to its unbounded default labels).
 *
 * Subscriptions are left out of the operation metrics (the `subscribe` phase): to observe one,
 * the plugin wraps its stream, and at 10,000 open subscriptions those wrappers cost the gateway
 * tens of MB. A service that executes subscriptions counts them where they run (the gateway's
 * `gateway/subscriptions/metrics.ts`); failed parses and validations of subscription documents
 * are still counted here.
 */
export function useGraphqlMetrics(registry: Registry, labelOptions: OperationNameLabelOptions) {
  const operationLabels = ['operationType', 'operationName'] as const;
  const operationNameLabel = createOperationNameLabeler(labelOptions);
  const ofOperation = (params: FillLabelsFnParams) => ({
    operationType: params.operationType ?? '',
    operationName: operationNameLabel(params.operationName),
  });
  const phaseHistogram = <Phase extends 'parse' | 'validate' | 'execute'>(phase: Phase, help: string) =>
    createHistogram<Phase, (typeof operationLabels)[number]>({
      registry,
      histogram: { name: `${METRIC_NAMESPACE}_graphql_${phase}_duration_seconds`, help, labelNames: operationLabels },
      fillLabelsFn: ofOperation,
      phases: [phase],
    });
  return usePrometheus({
    registry,
    endpoint: false,
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
      graphql_envelop_phase_parse: phaseHistogram('parse', 'Time spent parsing GraphQL documents.'),
      graphql_envelop_phase_validate: phaseHistogram('validate', 'Time spent validating GraphQL documents.'),
      graphql_envelop_phase_context: false,
      graphql_envelop_phase_execute: phaseHistogram('execute', 'Time spent executing GraphQL queries and mutations.'),
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
      graphql_yoga_http_duration: createHistogram({
        registry,
        histogram: {
          name: `${METRIC_NAMESPACE}_http_request_duration_seconds`,
          help: 'Time to answer GraphQL HTTP requests whose document parsed.',
          labelNames: [...operationLabels, 'method', 'statusCode'],
        },
        // Observed only for documents that parsed; Yoga passes the operation's own name, none when anonymous.
        fillLabelsFn: (params: FillLabelsFnParams & { request: Request; response: Response }) => ({
          ...ofOperation({ ...params, operationName: params.operationName ?? ANONYMOUS_OPERATION }),
          method: params.request.method,
          statusCode: params.response.status,
        }),
        phases: ['request'],
      }),
    },
  });
}
