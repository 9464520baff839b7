import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { allExpressions, PROMETHEUS_SERIES } from './k8s/monitoring.js';
import { HISTOGRAM_SERIES, metricNamesOf } from './k8s/promql.js';
import { startTestPlatform, type TestPlatform } from './kit.js';

// Every metric the alert rules, the Grafana dashboard and the prometheus-adapter rules under
// k8s/monitoring/ name is one the real processes register: the gateway, each subgraph and
// the worker, started as the test kit starts them, scraped on their /metrics. A rule that
// names a renamed or removed metric would never fire (and a panel stay empty); this fails instead.

/** Metric names and types from a /metrics page's `# TYPE` lines (every registered metric has one, observed or not). */
function registeredIn(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(match[1]!, match[2]!);
  return types;
}

describe('monitoring files against the registered metrics', () => {
  let platform: TestPlatform;
  let registered: Map<string, string>;

  beforeAll(async () => {
    platform = await startTestPlatform();
    registered = new Map();
    for (const [service, url] of Object.entries(platform.metricsUrls)) {
      const response = await fetch(url);
      expect(response.status, service).toBe(200);
      for (const [name, type] of registeredIn(await response.text())) registered.set(name, type);
    }
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('scrapes every process: gateway, subgraphs and worker', () => {
    expect(Object.keys(platform.metricsUrls).sort()).toEqual(['autonomy', 'gateway', 'inference', 'usage', 'users', 'worker']);
    expect(registered.get('lotabots_scaling_desired_workers')).toBe('gauge');
    expect(registered.get('lotabots_worker_jobs_total')).toBe('counter');
  });

  it('names only registered metrics (histogram series by their histogram)', () => {
    const unknown: string[] = [];
    for (const { where, expr } of allExpressions()) {
      for (const name of metricNamesOf(expr)) {
        if (PROMETHEUS_SERIES.has(name) || registered.has(name)) continue;
        const histogram = name.replace(HISTOGRAM_SERIES, '');
        if (histogram !== name && ['histogram', 'summary'].includes(registered.get(histogram) ?? '')) continue;
        unknown.push(`${where}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
  });
});
