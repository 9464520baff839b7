import { failureCount, type Failures, type LoadResult } from './load.js';
import type { MicroResult } from './micro.js';

export interface HttpRow {
  name: string;
  baseline: boolean;
  url: string;
  /** Medians over rounds. */
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** This row's median req/s ÷ the baseline row's median req/s, both from this run. */
  ratio: number;
  /** Totals over every measured window. */
  failures: Failures;
  rounds: LoadResult[];
}

export interface MicroRow {
  name: string;
  /** Medians over rounds. */
  opsPerSec: number;
  meanUs: number;
  rounds: MicroResult[];
}

export interface Report {
  generatedAt: string;
  /** `git rev-parse HEAD`, or null outside a checkout. */
  commit: string | null;
  machine: { cores: number; cpuModel: string; memoryGiB: number; node: string; os: string };
  settings: { durationS: number; warmupS: number; connections: number; rounds: number };
  platform: { mode: 'services' | 'embedded'; description: string };
  micro: MicroRow[];
  http: HttpRow[];
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

function formatFailures(failures: Failures): string {
  const total = failureCount(failures);
  if (total === 0) return '0';
  const parts = [
    failures.non2xx && `non-2xx ${failures.non2xx}`,
    failures.graphqlErrors && `GraphQL errors ${failures.graphqlErrors}`,
    failures.transport && `transport ${failures.transport}${failures.timeouts ? ` (timeouts ${failures.timeouts})` : ''}`,
  ].filter(Boolean);
  return `**${total}** (${parts.join(', ')})`;
}

/** The report as markdown; the HTTP table comes last. */
export function renderMarkdown(report: Report): string {
  const { machine, settings } = report;
  const lines = [
    '## Benchmark',
    '',
    `Machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.os}${report.commit ? `; commit ${report.commit.slice(0, 12)}` : ''}.`,
    `Settings: ${settings.connections} connections; ${settings.rounds} interleaved round(s) of ${settings.warmupS} s warm-up + ${settings.durationS} s measured per scenario; req/s, p50 and p99 are medians over rounds, errors are totals.`,
    `Platform: all subgraphs, the gateway and the worker in one child process; load generator (autocannon) in this process. Data: ${report.platform.description}.`,
    '',
  ];
  if (report.micro.length > 0) {
    lines.push('| micro-benchmark | ops/s (median) | µs/op (median) |', '| --- | ---: | ---: |');
    for (const row of report.micro) lines.push(`| ${row.name} | ${integer.format(row.opsPerSec)} | ${fixed(row.meanUs, 2)} |`);
    lines.push('');
  }
  lines.push(
    '| scenario | req/s (median) | p50 ms | p99 ms | ratio vs baseline | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const row of report.http) {
    lines.push(
      `| ${row.name} | ${integer.format(row.reqPerSec)} | ${fixed(row.p50Ms, 2)} | ${fixed(row.p99Ms, 2)} | ${fixed(row.ratio, 2)} | ${formatFailures(row.failures)} |`,
    );
  }
  return lines.join('\n');
}
