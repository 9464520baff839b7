import type { EngineResult } from '../engines.js';
import type { FeatureResult, FeatureRow } from '../features.js';
import type { HostileResult } from '../hostile.js';
import type { InferenceResult } from '../inference.js';
import type { SubscriptionResult } from '../subscriptions.js';
import { failureCount, type Failures, type LoadResult } from './load.js';
import type { MicroResult } from './micro.js';
import type { BenchPlatform } from './platform.js';

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
  /** The row this one is compared with, and this row's µs/op ÷ that row's. */
  baseline: { name: string; ratio: number } | null;
  rounds: MicroResult[];
}

export interface Report {
  generatedAt: string;
  /** `git rev-parse HEAD`, or null outside a checkout. */
  commit: string | null;
  machine: { cores: number; cpuModel: string; memoryGiB: number; node: string; os: string };
  settings: { durationS: number; warmupS: number; connections: number; rounds: number };
  platform: Pick<BenchPlatform, 'mode' | 'worker' | 'description'>;
  micro: MicroRow[];
  http: HttpRow[];
  /** Derived lines printed under the HTTP table (see `httpNotes`). */
  httpNotes: string[];
  /** Gateway req/s with cost + persisted features on vs off, or why it did not run. */
  features: FeatureResult | { skipped: string };
  /** Gateway req/s and CPU per request with GATEWAY_ENGINE=apollo vs native, or why it did not run. */
  engines: EngineResult | { skipped: string };
  /** The subscription benchmark, or why it did not run. */
  subscriptions: SubscriptionResult | { skipped: string };
  /** The hostile corpus against the gateway as deployed, or why it did not run. */
  hostile: HostileResult | { skipped: string };
  /** Inference through the gateway (TTFT overhead, tokens/s, concurrent streams), or why it did not run. */
  inference: InferenceResult | { skipped: string };
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

/** The report as markdown: micro-benchmarks, HTTP, then subscriptions. */
export function renderMarkdown(report: Report): string {
  const { machine, settings } = report;
  const lines = [
    '## Benchmark',
    '',
    `Machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.os}${report.commit ? `; commit ${report.commit.slice(0, 12)}` : ''}.`,
    `Settings: ${settings.connections} connections; ${settings.rounds} interleaved round(s) of ${settings.warmupS} s warm-up + ${settings.durationS} s measured per scenario; req/s, p50 and p99 are medians over rounds, errors are totals.`,
    `Platform: all subgraphs and the gateway in one child process, the worker ${report.platform.worker}; load generator (autocannon) in this process. Data: ${report.platform.description}.`,
    '',
  ];
  if (report.micro.length > 0) {
    lines.push('| micro-benchmark | ops/s (median) | µs/op (median) | µs/op ratio |', '| --- | ---: | ---: | --- |');
    for (const row of report.micro) {
      const ratio = row.baseline ? `${fixed(row.baseline.ratio, 2)} × ${row.baseline.name}` : '';
      lines.push(`| ${row.name} | ${integer.format(row.opsPerSec)} | ${fixed(row.meanUs, 2)} | ${ratio} |`);
    }
    lines.push('');
  }
  if (report.http.length > 0) {
    lines.push(
      '| scenario | req/s (median) | p50 ms | p99 ms | ratio vs baseline | errors |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const row of report.http) {
      lines.push(
        `| ${row.name} | ${integer.format(row.reqPerSec)} | ${fixed(row.p50Ms, 2)} | ${fixed(row.p99Ms, 2)} | ${fixed(row.ratio, 2)} | ${formatFailures(row.failures)} |`,
      );
    }
    if (report.httpNotes.length > 0) lines.push('', ...report.httpNotes);
    lines.push('');
  }
  if (report.httpNotes.length > 0) lines.push('', ...report.httpNotes);
  lines.push('', ...renderInference(report.inference));
  lines.push('', ...renderFeatures(report.features));
  lines.push('', ...renderEngines(report.engines));
  lines.push('', ...renderSubscriptions(report.subscriptions));
  lines.push('', ...renderHostile(report.hostile));
  return lines.join('\n');
}

/** The features-on row against the features-off row (the baseline), and the verdict against the target. */
function renderFeatures(result: Report['features']): string[] {
  if ('skipped' in result) return [`Cost + persisted features on vs off: not measured (${result.skipped}).`];
  const settings = (row: FeatureRow) => Object.entries(row.env).map(([name, value]) => `${name}=${value}`).join(' ');
  const lines = [
    `Cost + persisted features: two gateway processes (compiled build) in front of the same subgraphs, \`${result.query}\` with the user's access token, budgets too large to refuse; in each round both under load at the same time.`,
    '',
    '| gateway features | settings | req/s (median) | p50 ms | p99 ms | ratio vs off | gateway CPU ms/request (median) | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of [result.off, result.on]) {
    const ratio = row === result.off ? 1 : result.ratio;
    lines.push(
      `| ${row.name} | ${settings(row)} | ${integer.format(row.reqPerSec)} | ${fixed(row.p50Ms, 2)} | ${fixed(row.p99Ms, 2)} | ${fixed(ratio, 2)} | ${fixed(row.cpuMsPerRequest, 3)} | ${formatFailures(row.failures)} |`,
    );
  }
  const cost = (1 - result.ratio) * 100;
  const percents = (ratios: number[], sign: 1 | -1) => ratios.map((ratio) => fixed(sign * (ratio - 1) * 100, 1)).join(', ');
  lines.push(
    '',
    `Features on cost ${fixed(cost, 1)} % of req/s (target: under ${fixed(result.targetCost * 100, 0)} %) → ${result.withinTarget ? '**pass**' : '**FAIL**'}; ` +
      `${fixed((result.cpuRatio - 1) * 100, 1)} % more gateway CPU time per request. Both are medians of the ${result.roundRatios.length} rounds' own on ÷ off ` +
      `(in a round both gateways are under load at the same time); per round, % of req/s: ${percents(result.roundRatios, -1)}; % more CPU per request: ${percents(result.roundCpuRatios, 1)}.`,
  );
  return lines;
}

/** Each request's rows (apollo, native, direct where measured), then native ÷ apollo and the overhead over the subgraph. */
function renderEngines(result: Report['engines']): string[] {
  if ('skipped' in result) return [`Engines (GATEWAY_ENGINE=apollo vs native): not measured (${result.skipped}).`];
  const lines = [
    'Engines: two gateway processes (compiled build) in front of the same subgraphs, differing only in `GATEWAY_ENGINE`, with the user\'s access token; interleaved rounds.',
    '',
    '| request | engine | req/s (median) | p50 ms | p99 ms | gateway CPU ms/request (median) | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of result.rows) {
    lines.push(
      `| ${row.request} | ${row.name} | ${integer.format(row.reqPerSec)} | ${fixed(row.p50Ms, 2)} | ${fixed(row.p99Ms, 2)} | ${fixed(row.cpuMsPerRequest, 3)} | ${formatFailures(row.failures)} |`,
    );
  }
  lines.push('');
  for (const { request, reqPerSecRatio, cpuRatio, overheadP50Ms, targetP50Ms } of result.comparisons) {
    const overhead = overheadP50Ms ? `; p50 over the subgraph directly: apollo +${fixed(overheadP50Ms.apollo, 2)} ms, native +${fixed(overheadP50Ms.native, 2)} ms` : '';
    const target = overheadP50Ms && targetP50Ms !== undefined ? ` (target: native under ${targetP50Ms} ms → ${overheadP50Ms.native < targetP50Ms ? '**pass**' : '**FAIL**'})` : '';
    lines.push(`- ${request}: native ÷ apollo req/s ${fixed(reqPerSecRatio, 2)}, gateway CPU ms/request ${fixed(cpuRatio, 2)}${overhead}${target}`);
  }
  return lines;
}

/** Failures in the engines measurement that make the run invalid. */
export function engineFailureCount(result: Report['engines']): number {
  return 'skipped' in result ? 0 : result.rows.reduce((sum, row) => sum + failureCount(row.failures), 0);
}

/** Failures in the features measurement that make the run invalid. */
export function featureFailureCount(result: Report['features']): number {
  return 'skipped' in result ? 0 : failureCount(result.on.failures) + failureCount(result.off.failures);
}

/** KiB (as /proc reports) → MB (10⁶ bytes, the target's unit). */
const mb = (kib: number) => `${fixed((kib * 1024) / 1e6, 1)} MB`;
const ms = (value: number) => `${fixed(value, 2)} ms`;

function renderSubscriptions(result: Report['subscriptions']): string[] {
  if ('skipped' in result) return [`Subscriptions: not measured (${result.skipped}).`];
  const { settings, memory, fanout, latency, failures, upstream } = result;
  const n = integer.format(settings.count);
  const memoryAt = (reading: typeof memory.idle) => (reading ? mb(reading.rssKiB) : 'n/a');
  const heap = (bytes: number) => mb(bytes / 1024);
  const failureText = [
    failures.errors && `${failures.errors} errors (first: ${failures.firstError})`,
    failures.ended && `${failures.ended} ended by the gateway`,
    failures.unexpected && `${failures.unexpected} unexpected events`,
  ].filter(Boolean);
  const rows: Array<[string, string]> = [
    ['open subscriptions (gateway gauge)', `${integer.format(result.opened)} of ${n}, over ${integer.format(settings.sockets)} graphql-ws sockets, opened in ${fixed(result.openSeconds, 1)} s (${integer.format(result.opened / result.openSeconds)}/s)`],
    ['upstream', `${upstream.gatewayToUsageConnections ?? 'n/a'} gateway→usage subgraph connection(s); ${upstream.redisSubscribers} Redis subscriber(s) on the user's live channel`],
    ['gateway RSS: ready → with subscriptions open', `${memoryAt(memory.idle)} → **${memoryAt(memory.open)}** (peak so far ${memory.open ? mb(memory.open.hwmKiB) : 'n/a'})`],
    ['RSS per subscription', `${fixed(result.rssPerSubscriptionKB, 1)} KB`],
    ['V8 heap used: ready → open', `${heap(result.heapUsedBytes.idle)} → ${heap(result.heapUsedBytes.open)}`],
    [`target: ${n} under ${result.rssTargetMB} MB`, result.withinTarget ? '**pass**' : '**FAIL**'],
    [`fan-out: 1 event → ${n} subscriptions (median of ${fanout.broadcasts})`, `first ${ms(fanout.firstMs)}, p50 ${ms(fanout.p50Ms)}, p99 ${ms(fanout.p99Ms)}, last ${ms(fanout.lastMs)} (${integer.format(settings.count / (fanout.lastMs / 1000))} deliveries/s)${fanout.missing ? `, **${fanout.missing} missing**` : ''}`],
    [`latency: ${integer.format(settings.eventRate)} events/s for ${settings.eventSeconds} s over ${integer.format(settings.probes)} more users' subscriptions`, `p50 **${ms(latency.p50Ms)}**, p99 **${ms(latency.p99Ms)}**, max ${ms(latency.maxMs)}`],
    ['delivered', `${integer.format(latency.received)} of ${integer.format(latency.published)} (${integer.format(latency.deliveredPerSec)}/s), lost ${latency.lost === 0 ? '0' : `**${integer.format(latency.lost)}**`}`],
    ['gateway RSS at the end (peak)', `${memoryAt(memory.end)} (${memory.end ? mb(memory.end.hwmKiB) : 'n/a'}); heap ${heap(result.heapUsedBytes.end)}`],
    ['errors', failureText.length === 0 ? '0' : `**${failureText.join('; ')}**`],
  ];
  return ['| subscriptions (gateway in its own process) | |', '| --- | --- |', ...rows.map(([name, value]) => `| ${name} | ${value} |`)];
}

/** TTFT overhead against its target, one stream's tokens/s, the concurrent streams. */
function renderInference(result: Report['inference']): string[] {
  if ('skipped' in result) return [`Inference: not measured (${result.skipped}).`];
  const { settings, ttft, throughput, concurrent, failures } = result;
  const { run, twoStep } = ttft;
  const pass = run.overheadP50Ms < ttft.targetP50Ms;
  return [
    'Inference through the gateway: the worker streams from a local OpenAI-compatible server (test/fake-openai.ts, in the load generator\'s process). Two flows, taking turns job by job: `runInference` over graphql-ws (submit and stream in one operation), and `submitInference` over HTTP then `inferenceEvents` over graphql-ws.',
    '',
    '| inference | value |',
    '| --- | ---: |',
    `| time to first token, client, \`runInference\` (p50 of ${settings.ttftJobs} jobs, subscribe → first token event) | ${fixed(run.clientP50Ms, 2)} ms |`,
    `| time to first token, model server (p50) | ${fixed(run.backendP50Ms, 2)} ms |`,
    `| **platform overhead on TTFT, p50** (client − server, per job) | **${fixed(run.overheadP50Ms, 2)} ms** |`,
    `| platform overhead on TTFT, p99 | ${fixed(run.overheadP99Ms, 2)} ms |`,
    `| two steps: time to first token, client (p50 of ${settings.ttftJobs} jobs, submit → first token event) | ${fixed(twoStep.clientP50Ms, 2)} ms |`,
    `| two steps: of which the submitInference answer (p50) | ${fixed(twoStep.submitP50Ms, 2)} ms |`,
    `| two steps: platform overhead on TTFT, p50 / p99 | ${fixed(twoStep.overheadP50Ms, 2)} / ${fixed(twoStep.overheadP99Ms, 2)} ms |`,
    `| one stream at full speed (${integer.format(throughput.tokens)} tokens), tokens/s at the client | ${integer.format(throughput.tokensPerSecond)} |`,
    `| concurrent streams on one gateway (${settings.streamTokens} tokens, one per ${settings.streamPaceMs} ms, ${settings.sockets} sockets): completed / peak open | ${integer.format(concurrent.completed)} of ${integer.format(settings.streams)} / ${integer.format(concurrent.peakOpen)} |`,
    `| concurrent streams: tokens/s delivered, wall time (submitting took) | ${integer.format(concurrent.tokensPerSecond)}, ${fixed(concurrent.seconds, 1)} s (${fixed(concurrent.submitSeconds, 1)} s) |`,
    `| failed submissions or errors / streams not delivering every index once | ${failures.errors} / ${failures.badStreams}${failures.firstProblem ? ` (first: ${failures.firstProblem.slice(0, 200)})` : ''} |`,
    '',
    `TTFT overhead p50 (\`runInference\`) ${fixed(run.overheadP50Ms, 2)} ms (target: under ${ttft.targetP50Ms} ms) → ${pass ? '**pass**' : '**FAIL**'}.`,
  ];
}

/** Failures of the inference benchmark that make the run invalid. */
export function inferenceFailureCount(result: Report['inference']): number {
  return 'skipped' in result ? 0 : result.failures.errors + result.failures.badStreams;
}

/** Failures of the subscription benchmark that make the run invalid. */
export function subscriptionFailureCount(result: Report['subscriptions']): number {
  if ('skipped' in result) return 0;
  return result.failures.errors + result.failures.ended + result.failures.unexpected + result.latency.lost + result.fanout.missing;
}

/** Memory against idle RSS (the baseline), the hostile requests by kind, the normal traffic during the attack. */
function renderHostile(result: Report['hostile']): string[] {
  if ('skipped' in result) return [`Hostile corpus: not measured (${result.skipped}).`];
  const { settings, memory, normal } = result;
  const limitKiB = settings.memoryLimitBytes / 1024;
  const ratio = (kib: number) => fixed(kib / memory.idleKiB, 2);
  const successRate = normal.sent > 0 ? (100 * normal.succeeded) / normal.sent : Number.NaN;
  const lines = [
    `Hostile corpus: the gateway as deployed (\`node dist/gateway/main.js\`, NODE_OPTIONS=${settings.nodeOptions}, k8s memory limit ${integer.format(limitKiB / 1024)} MiB = ${mb(limitKiB)}) in its own process; ` +
      `${settings.connections} concurrent hostile senders for ${settings.seconds} s, each request on a new connection, while ${settings.normalConnections} clients send \`{ models { id } }\`.`,
    '',
    '| hostile corpus: gateway RSS | MB | ratio vs idle RSS |',
    '| --- | ---: | ---: |',
    `| idle, ready (baseline) | ${mb(memory.idleKiB)} | 1.00 |`,
    `| peak under attack (${memory.peakFrom === 'VmHWM' ? 'VmHWM' : `max of ${memory.samples} samples`}) | **${mb(memory.peakKiB)}** | ${ratio(memory.peakKiB)} |`,
    `| after the attack | ${memory.endKiB === null ? 'n/a' : mb(memory.endKiB)} | ${memory.endKiB === null ? 'n/a' : ratio(memory.endKiB)} |`,
    `| k8s memory limit | ${mb(limitKiB)} | ${ratio(limitKiB)} |`,
    '',
    `Peak ÷ memory limit: ${fixed(memory.peakKiB / limitKiB, 2)} → ${result.withinLimit ? '**pass**' : '**FAIL**'}; gateway ${result.survived ? 'alive and answering after the attack' : '**dead or not answering after the attack**'}.`,
    `Normal traffic during the attack: ${integer.format(normal.succeeded)} of ${integer.format(normal.sent)} succeeded (${fixed(successRate, 2)} %), p50 ${ms(normal.p50Ms)}, p99 ${ms(normal.p99Ms)}${normal.firstFailure ? `; first failure: ${normal.firstFailure}` : ''}.`,
    '',
    '| hostile request | sent | answers | unexpected |',
    '| --- | ---: | --- | ---: |',
  ];
  for (const row of result.requests) {
    const answers = Object.entries(row.outcomes).map(([outcome, count]) => `${outcome} × ${integer.format(count)}`).join(', ');
    lines.push(`| ${row.name} | ${integer.format(row.sent)} | ${answers} | ${row.unexpected === 0 ? '0' : `**${row.unexpected}**`} |`);
  }
  return lines;
}
