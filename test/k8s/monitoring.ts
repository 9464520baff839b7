import { readFileSync } from 'node:fs';

import { parse as parseYaml } from 'yaml';

import { repoRoot } from './manifests.js';

/** The monitoring files under k8s/monitoring/, read for test/monitoring.test.ts and test/monitoring-metrics.e2e.ts. */

const monitoringDir = new URL('k8s/monitoring/', repoRoot);
const read = (file: string) => readFileSync(new URL(file, monitoringDir), 'utf8');

export interface AlertRule {
  alert?: unknown;
  record?: unknown;
  expr?: unknown;
  for?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}
export interface PrometheusRule {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: { groups: Array<{ name: string; rules: AlertRule[] }> };
}
export interface DashboardTarget {
  refId?: unknown;
  expr?: unknown;
  datasource?: unknown;
}
export interface DashboardPanel {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
}
export interface Dashboard {
  uid?: unknown;
  title?: unknown;
  schemaVersion?: unknown;
  templating?: { list: Array<{ name: string; type: string }> };
  annotations?: { list: Array<{ expr?: string }> };
  panels: DashboardPanel[];
}
export interface AdapterValues {
  rules: { external: Array<{ seriesQuery: string; name: { as: string }; metricsQuery: string }> };
}

export const readRules = () => parseYaml(read('prometheus-rules.yaml')) as PrometheusRule;
export const readDashboard = () => JSON.parse(read('grafana-dashboard.json')) as Dashboard;
export const readAdapterValues = () => parseYaml(read('prometheus-adapter-values.yaml')) as AdapterValues;

/** Every panel that shows data (rows left out, their nested panels included). */
export const dataPanels = (dashboard: Dashboard): DashboardPanel[] =>
  dashboard.panels.flatMap((panel) => (panel.type === 'row' ? (panel.panels ?? []) : [panel]));

/** Every PromQL expression of the monitoring files, with where it is. */
export function allExpressions(): Array<{ where: string; expr: string }> {
  const rules = readRules().spec.groups.flatMap((group) => group.rules.map((rule) => ({ where: `rule ${String(rule.alert)}`, expr: String(rule.expr) })));
  const dashboard = readDashboard();
  const targets = dataPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ where: `panel ${String(panel.title)} ${String(target.refId)}`, expr: String(target.expr) })),
  );
  const annotations = (dashboard.annotations?.list ?? []).filter((annotation) => annotation.expr).map((annotation) => ({ where: 'dashboard annotation', expr: annotation.expr! }));
  const adapter = readAdapterValues().rules.external.map((rule) => ({ where: `adapter rule ${rule.name.as}`, expr: rule.seriesQuery }));
  return [...rules, ...targets, ...annotations, ...adapter];
}

/** Series Prometheus makes itself, not any process: `ALERTS` (firing and pending alerts). */
export const PROMETHEUS_SERIES = new Set(['ALERTS']);
