import { describe, expect, it } from 'vitest';

import { allExpressions, dataPanels, readAdapterValues, readDashboard, readRules } from './k8s/monitoring.js';
import { metricNamesOf } from './k8s/promql.js';

// The monitoring files under k8s/monitoring/ checked without Prometheus or Grafana: rule and
// dashboard shapes, and PromQL as far as test/k8s/promql.ts reads it. That every metric they
// name is registered by the processes is test/monitoring-metrics.e2e.ts.

describe('PromQL reading', () => {
  it('finds the metric names an expression selects, not its functions, labels or keywords', () => {
    expect(metricNamesOf('histogram_quantile(0.95, sum by (le, operationType) (rate(a_seconds_bucket{service="gateway", x=~"p|q"}[5m])))')).toEqual(['a_seconds_bucket']);
    expect(metricNamesOf('sum(rate(b_total[$__rate_interval])) / scalar(sum(c)) > 0.1')).toEqual(['b_total', 'c']);
    expect(metricNamesOf('max(d) == 0 and max(e) > 0')).toEqual(['d', 'e']);
    expect(metricNamesOf('absent(f)')).toEqual(['f']);
  });

  it('refuses what is not PromQL', () => {
    expect(() => metricNamesOf('sum(rate(a[5m])')).toThrow(/unbalanced/);
    expect(() => metricNamesOf('summ(a)')).toThrow(/unknown function summ/);
    expect(() => metricNamesOf('a{service=gateway}')).toThrow(/label matcher/);
    expect(() => metricNamesOf('rate(a[5 minutes])')).toThrow(/bad range/);
    expect(() => metricNamesOf('a; b')).toThrow(/unexpected/);
  });
});

describe('monitoring files', () => {
  it('parses every expression of the rules, the dashboard and the adapter rules', () => {
    const expressions = allExpressions();
    expect(expressions.length).toBeGreaterThan(20);
    for (const { where, expr } of expressions) expect(() => metricNamesOf(expr), where).not.toThrow();
    for (const { where, expr } of expressions) expect(metricNamesOf(expr).length, `${where} selects a metric`).toBeGreaterThan(0);
  });

  it('has alert rules with a name, an expression, a duration, a severity and a summary and description, each name once', () => {
    const rules = readRules();
    expect(rules).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' });
    const alerts = rules.spec.groups.flatMap((group) => group.rules);
    expect(alerts.length).toBeGreaterThan(10);
    for (const rule of alerts) {
      const where = String(rule.alert);
      expect(rule.alert, where).toMatch(/^Lotabots[A-Z][A-Za-z]+$/);
      expect(typeof rule.expr, where).toBe('string');
      expect(rule.for, where).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning', 'info'], where).toContain(rule.labels?.severity);
      expect(typeof rule.annotations?.summary, where).toBe('string');
      expect(typeof rule.annotations?.description, where).toBe('string');
    }
    const names = alerts.map((rule) => rule.alert);
    expect(new Set(names).size).toBe(names.length);
  });

  it('has a Grafana dashboard whose panels each query Prometheus, laid out on the 24-column grid', () => {
    const dashboard = readDashboard();
    expect(dashboard).toMatchObject({ uid: expect.any(String), title: expect.any(String), schemaVersion: expect.any(Number) });
    expect(dashboard.templating?.list.map((variable) => [variable.name, variable.type])).toContainEqual(['datasource', 'datasource']);
    const panels = dataPanels(dashboard);
    expect(panels.length).toBeGreaterThan(10);
    for (const panel of panels) {
      const where = String(panel.title);
      expect(panel.title, where).toEqual(expect.any(String));
      expect(['timeseries', 'stat', 'gauge', 'table'], where).toContain(panel.type);
      expect(panel.gridPos!.x + panel.gridPos!.w, where).toBeLessThanOrEqual(24);
      expect(panel.targets?.length, where).toBeGreaterThan(0);
      for (const target of panel.targets!) expect(target, where).toMatchObject({ refId: expect.any(String), expr: expect.any(String) });
    }
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('covers what operators watch: traffic, errors, latency, subgraphs, throttles, queue, TTFT, tokens/s, workers, cache, subscriptions, scaling', () => {
    const shown = new Set(allExpressions().filter(({ where }) => where.startsWith('panel')).flatMap(({ expr }) => metricNamesOf(expr)));
    for (const metric of [
      'lotabots_graphql_requests_total',
      'lotabots_graphql_errors_total',
      'lotabots_graphql_request_duration_seconds_bucket',
      'lotabots_subgraph_fetch_duration_seconds_bucket',
      'lotabots_subgraph_fetch_duration_seconds_count',
      'lotabots_gateway_throttled_requests_total',
      'lotabots_inference_queue_depth',
      'lotabots_inference_time_to_first_token_seconds_bucket',
      'lotabots_inference_tokens_per_second_bucket',
      'lotabots_inference_live_workers',
      'lotabots_inference_cache_hits_total',
      'lotabots_gateway_open_subscriptions',
      'lotabots_scaling_desired_workers',
      'lotabots_scaling_desired_gateway_replicas',
    ]) {
      expect(shown, metric).toContain(metric);
    }
  });

  it('serves the autoscalers the metrics their HorizontalPodAutoscalers name, one figure per namespace', () => {
    const rules = readAdapterValues().rules.external;
    expect(rules.map((rule) => rule.name.as).sort()).toEqual(['lotabots_inference_queue_depth', 'lotabots_scaling_desired_gateway_replicas', 'lotabots_scaling_desired_workers']);
    for (const rule of rules) {
      expect(metricNamesOf(rule.seriesQuery)).toEqual([rule.name.as]);
      // Every replica reports the same platform-wide figure: the highest, never the sum.
      expect(rule.metricsQuery).toMatch(/^max\(/);
    }
  });
});
