/**
 * `npm run bench`: starts the platform against a throwaway database, seeds one user, checks
 * every scenario answers correctly, measures them in interleaved rounds, checks again, cleans
 * up, then writes bench/results/latest.json and prints the markdown report (table last) on
 * stdout. Progress and the platform's logs go to stderr.
 *
 * Exit status: 0 when every measured response succeeded; 1 when any failed (the report still
 * prints), when a check fails, or when the run exceeds its time budget; 2 for bad settings.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ConfigError } from '../lib/config.js';
import { startFakeOpenAi } from '../test/fake-openai.js';
import { engineBudgetSeconds, measureEngines } from './engines.js';
import { featureBudgetSeconds, type FeatureSettings, measureFeatures } from './features.js';
import { hostileBudgetSeconds, hostileFailureCount, type HostileSettings, measureHostile } from './hostile.js';
import { inferenceBudgetSeconds, inferencePlatformSettings, type InferenceSettings, measureInference } from './inference.js';
import { type BenchConfig, type BenchPart, loadBenchConfig, runsPart } from './lib/config.js';
import { platformGatewayEnv } from './lib/gateway-process.js';
import { postGraphQL } from './lib/graphql.js';
import { failureCount, type LoadResult, runLoad, sumFailures } from './lib/load.js';
import { measureMicro, type MicroOperation, type MicroResult } from './lib/micro.js';
import { type BenchPlatform, startBenchPlatform } from './lib/platform.js';
import { engineFailureCount, featureFailureCount, type HttpRow, inferenceFailureCount, type MicroRow, renderMarkdown, type Report, subscriptionFailureCount } from './lib/report.js';
import { median } from './lib/stats.js';
import { microBenchmarks } from './microbenchmarks.js';
import { type BenchContext, httpNotes, type HttpScenario, httpScenarios, seedUser } from './scenarios.js';
import { measureSubscriptions, subscriptionBudgetSeconds, type SubscriptionSettings } from './subscriptions.js';

const RESULTS_FILE = fileURLToPath(new URL('./results/latest.json', import.meta.url));
/** Slack per measured window on top of warm-up + duration (connection set-up, a slow stop). @default 30 // s */
const WINDOW_SLACK_S = 30;
/** Time allowed for seeding and the checks, before the windows are counted. @default 120 // s */
const SETUP_BUDGET_S = 120;

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

async function main(): Promise<number> {
  const config = loadBenchConfig(process.env);
  const guard = guardRun();
  const inference = inferenceSettingsOf(config);
  // The model server the worker streams from (the inference benchmark): a local OpenAI-compatible one, in this process.
  const upstream = inference ? await startFakeOpenAi({ tokenCount: Math.max(inference.throughputTokens, inference.streamTokens, 8) }) : null;
  guard.addCleanup(async () => upstream?.close());
  const services = upstream && inference ? inferencePlatformSettings(upstream, inference) : undefined;
  log('starting the platform');
  let platform: BenchPlatform;
  try {
    platform = await startBenchPlatform({
      databaseAdminUrl: config.BENCH_DATABASE_ADMIN_URL,
      redisUrl: config.BENCH_REDIS_URL,
      logLevel: config.BENCH_LOG_LEVEL,
      signal: guard.signal,
      services,
    });
  } catch (error) {
    await upstream?.close();
    guard.release();
    throw error;
  }
  guard.attach(platform);
  log(`platform up (${platform.description})`);
  let report: Report;
  try {
    report = await measure(platform, config, guard, upstream && inference && services ? { upstream, settings: inference, gatewayEnv: services.gatewayEnv } : null);
  } finally {
    log('stopping the platform and cleaning up');
    // The guards stay until the cleanup is done: a signal meanwhile waits for the same stop.
    await platform.stop();
    await upstream?.close();
    guard.release();
  }
  await mkdir(dirname(RESULTS_FILE), { recursive: true });
  await writeFile(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${RESULTS_FILE}`);
  process.stdout.write(`${renderMarkdown(report)}\n`);
  const failed = report.http.filter((row) => failureCount(row.failures) > 0);
  if (failed.length > 0) {
    log(`FAILED: responses that were not successes in ${failed.map((row) => `"${row.name}"`).join(', ')}; the numbers above are not valid`);
    return 1;
  }
  if (engineFailureCount(report.engines) > 0) {
    log('FAILED: responses that were not successes in the engines measurement; its numbers above are not valid');
    return 1;
  }
  if (featureFailureCount(report.features) > 0) {
    log('FAILED: responses that were not successes in the features on/off measurement; its numbers above are not valid');
    return 1;
  }
  if (subscriptionFailureCount(report.subscriptions) > 0) {
    log('FAILED: the subscription benchmark saw errors, ended subscriptions or lost events; its numbers above are not valid');
    return 1;
  }
  if (inferenceFailureCount(report.inference) > 0) {
    log('FAILED: the inference benchmark saw failed submissions or streams that did not deliver every token once; its numbers above are not valid');
    return 1;
  }
  if (hostileFailureCount(report.hostile) > 0) {
    log('FAILED: under the hostile corpus the gateway died, went over its memory limit or gave answers it should not have');
    return 1;
  }
  return 0;
}

/** The inference benchmark's settings, or null when BENCH_INFERENCE=0. */
function inferenceSettingsOf(config: BenchConfig): InferenceSettings | null {
  if (!config.BENCH_INFERENCE || !runsPart(config, 'inference')) return null;
  return {
    ttftJobs: config.BENCH_INFERENCE_TTFT_JOBS,
    throughputTokens: config.BENCH_INFERENCE_THROUGHPUT_TOKENS,
    streams: config.BENCH_INFERENCE_STREAMS,
    streamTokens: config.BENCH_INFERENCE_STREAM_TOKENS,
    streamPaceMs: config.BENCH_INFERENCE_STREAM_PACE_MS,
    sockets: config.BENCH_INFERENCE_SOCKETS,
  };
}

async function measure(
  platform: BenchPlatform,
  config: BenchConfig,
  guard: RunGuard,
  inference: { upstream: NonNullable<Awaited<ReturnType<typeof startFakeOpenAi>>>; settings: InferenceSettings; gatewayEnv: Record<string, string> } | null,
): Promise<Report> {
  const seeded = await seedUser(platform.gatewayUrl, platform.keys);
  const context: BenchContext = {
    gatewayUrl: platform.gatewayUrl,
    subgraphUrls: platform.subgraphUrls,
    identity: platform.identity,
    secrets: platform.secrets,
    keys: platform.keys,
    redis: platform.redis,
    ...seeded,
  };
  const allScenarios = httpScenarios(context);
  const baselines = allScenarios.filter((scenario) => scenario.baseline);
  if (baselines.length !== 1) throw new Error(`exactly one scenario must be the baseline, found ${baselines.length}`);
  const scenarios = runsPart(config, 'http') ? allScenarios : [];
  const micros = runsPart(config, 'micro') ? microBenchmarks : [];
  for (const scenario of scenarios) await check(scenario, 'before measuring');
  const windows = config.BENCH_ROUNDS * (scenarios.length + micros.length);
  const subscriptionSettings: SubscriptionSettings = {
    count: config.BENCH_SUBSCRIPTIONS_COUNT,
    sockets: config.BENCH_SUBSCRIPTION_SOCKETS,
    probes: config.BENCH_LATENCY_SUBSCRIPTIONS,
    eventRate: config.BENCH_EVENT_RATE,
    eventSeconds: config.BENCH_EVENT_SECONDS,
    // The gateway process's warnings are worth seeing even when the platform is silent.
    logLevel: config.BENCH_LOG_LEVEL === 'silent' ? 'warn' : config.BENCH_LOG_LEVEL,
    nodeOptions: config.BENCH_GATEWAY_NODE_OPTIONS,
  };
  /** Why a part that starts a gateway process of its own does not run, or null when it does. */
  const skipped = (enabled: boolean, variable: string, part: BenchPart) =>
    !enabled ? `${variable}=0` : !runsPart(config, part) ? `BENCH_ONLY=${config.BENCH_ONLY!.join(',')}` : platform.mode === 'embedded' ? 'embedded mode: a second gateway process needs the real Redis' : null;
  const subscriptionsSkipped = skipped(config.BENCH_SUBSCRIPTIONS, 'BENCH_SUBSCRIPTIONS', 'subscriptions');
  const hostileSettings: HostileSettings = {
    seconds: config.BENCH_HOSTILE_SECONDS,
    connections: config.BENCH_HOSTILE_CONNECTIONS,
    logLevel: subscriptionSettings.logLevel,
  };
  const hostileSkipped = skipped(config.BENCH_HOSTILE, 'BENCH_HOSTILE', 'hostile');
  const featureSettings: FeatureSettings = {
    rounds: config.BENCH_FEATURES_ROUNDS,
    warmupS: config.BENCH_WARMUP,
    durationS: config.BENCH_DURATION,
    connections: config.BENCH_CONNECTIONS,
    logLevel: subscriptionSettings.logLevel,
    nodeOptions: config.BENCH_GATEWAY_NODE_OPTIONS,
  };
  const featuresSkipped = skipped(config.BENCH_FEATURES, 'BENCH_FEATURES', 'features');
  const enginesSkipped = skipped(config.BENCH_ENGINES, 'BENCH_ENGINES', 'engines');
  guard.setBudget(
    windows * (config.BENCH_WARMUP + config.BENCH_DURATION + WINDOW_SLACK_S) +
      SETUP_BUDGET_S +
      (subscriptionsSkipped ? 0 : subscriptionBudgetSeconds(subscriptionSettings)) +
      (hostileSkipped ? 0 : hostileBudgetSeconds(hostileSettings)) +
      (featuresSkipped ? 0 : featureBudgetSeconds(featureSettings)) +
      (enginesSkipped ? 0 : engineBudgetSeconds(featureSettings)) +
      (inference ? inferenceBudgetSeconds(inference.settings) : 0),
  );

  const load = { connections: config.BENCH_CONNECTIONS, durationS: config.BENCH_DURATION };
  const httpRounds = new Map<HttpScenario, LoadResult[]>(scenarios.map((scenario) => [scenario, []]));
  for (let round = 1; round <= config.BENCH_ROUNDS; round++) {
    for (const scenario of scenarios) {
      const target = async () => ({ url: scenario.url, body: scenario.body, headers: await scenario.headers?.() });
      if (config.BENCH_WARMUP > 0) await runLoad(await target(), { ...load, durationS: config.BENCH_WARMUP });
      const result = await runLoad(await target(), load);
      httpRounds.get(scenario)!.push(result);
      log(
        `round ${round}/${config.BENCH_ROUNDS} ${scenario.name}: ${Math.round(result.reqPerSec)} req/s, ` +
          `p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, failures ${failureCount(result.failures)}`,
      );
    }
  }
  for (const scenario of scenarios) await check(scenario, 'after measuring');

  const micro = await measureMicroBenchmarks(context, config, micros);
  const inferenceResult: Report['inference'] = inference
    ? await measureInference(context, inference.upstream, inference.settings, {
      log,
      addCleanup: guard.addCleanup,
      // As deployed, the gateway is a process of its own, sharing the platform's Redis keys (its usage events reach the platform's metering).
      gatewayEnv: platform.mode === 'services'
        ? {
          ...platformGatewayEnv(context, { keyPrefixSuffix: '', logLevel: subscriptionSettings.logLevel, nodeOptions: config.BENCH_GATEWAY_NODE_OPTIONS }),
          ...inference.gatewayEnv,
        }
        : null,
    })
    : { skipped: config.BENCH_INFERENCE ? `BENCH_ONLY=${config.BENCH_ONLY?.join(',')}` : 'BENCH_INFERENCE=0' };
  const features: Report['features'] = featuresSkipped
    ? { skipped: featuresSkipped }
    : await measureFeatures(context, featureSettings, { log, addCleanup: guard.addCleanup });
  const engines: Report['engines'] = enginesSkipped
    ? { skipped: enginesSkipped }
    : await measureEngines(context, featureSettings, { log, addCleanup: guard.addCleanup });

  let subscriptions: Report['subscriptions'];
  if (subscriptionsSkipped) {
    subscriptions = { skipped: subscriptionsSkipped };
  } else {
    subscriptions = await measureSubscriptions(context, subscriptionSettings, { log, addCleanup: guard.addCleanup });
  }
  const hostile: Report['hostile'] = hostileSkipped
    ? { skipped: hostileSkipped }
    : await measureHostile(context, hostileSettings, { log, addCleanup: guard.addCleanup });

  const medianReqPerSec = (scenario: HttpScenario) => median(httpRounds.get(scenario)!.map((r) => r.reqPerSec));
  const baselineReqPerSec = scenarios.length > 0 ? medianReqPerSec(baselines[0]!) : Number.NaN;
  const rows = scenarios.map((scenario): HttpRow => {
    const rounds = httpRounds.get(scenario)!;
    return {
      name: scenario.name,
      baseline: scenario.baseline === true,
      url: scenario.url,
      reqPerSec: medianReqPerSec(scenario),
      p50Ms: median(rounds.map((r) => r.p50Ms)),
      p99Ms: median(rounds.map((r) => r.p99Ms)),
      ratio: baselineReqPerSec > 0 ? medianReqPerSec(scenario) / baselineReqPerSec : Number.NaN,
      failures: sumFailures(rounds.map((r) => r.failures)),
      rounds,
    };
  });
  return {
    generatedAt: new Date().toISOString(),
    commit: gitCommit(),
    machine: {
      cores: os.availableParallelism(),
      cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
      os: `${os.platform()} ${os.arch()}`,
    },
    settings: { durationS: config.BENCH_DURATION, warmupS: config.BENCH_WARMUP, connections: config.BENCH_CONNECTIONS, rounds: config.BENCH_ROUNDS },
    platform: { mode: platform.mode, worker: platform.worker, description: platform.description },
    micro,
    http: rows,
    httpNotes: httpNotes(new Map(rows.map((row) => [row.name, row.reqPerSec]))),
    features,
    engines,
    subscriptions,
    hostile,
    inference: inferenceResult,
  };
}

/** One request outside the load: it must be a 2xx without errors and carry the expected data. */
async function check(scenario: HttpScenario, when: string): Promise<void> {
  const response = await postGraphQL(scenario.url, scenario.body, await scenario.headers?.());
  try {
    if (response.status < 200 || response.status >= 300) throw new Error(`status ${response.status}`);
    if (response.errors) throw new Error(`errors ${JSON.stringify(response.errors)}`);
    scenario.verify(response.data);
  } catch (error) {
    throw new Error(`scenario "${scenario.name}" ${when}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function measureMicroBenchmarks(context: BenchContext, config: BenchConfig, benchmarks: typeof microBenchmarks): Promise<MicroRow[]> {
  if (benchmarks.length === 0) return [];
  const operations: Array<{ name: string; baseline: string | undefined; operation: MicroOperation; rounds: MicroResult[] }> = [];
  try {
    for (const bench of benchmarks) {
      operations.push({ name: bench.name, baseline: bench.baseline, operation: await bench.setup(context), rounds: [] });
    }
    for (let round = 1; round <= config.BENCH_ROUNDS; round++) {
      for (const entry of operations) {
        await entry.operation.beforeRound?.();
        if (config.BENCH_WARMUP > 0) await measureMicro(entry.operation, config.BENCH_WARMUP);
        const result = await measureMicro(entry.operation, config.BENCH_DURATION);
        entry.rounds.push(result);
        log(`round ${round}/${config.BENCH_ROUNDS} ${entry.name}: ${Math.round(result.opsPerSec)} ops/s, ${result.meanUs.toFixed(2)} µs/op`);
      }
    }
  } finally {
    for (const entry of operations) await entry.operation.close?.();
  }
  const meanUs = new Map(operations.map(({ name, rounds }) => [name, median(rounds.map((r) => r.meanUs))]));
  return operations.map(({ name, baseline, rounds }): MicroRow => {
    const baselineUs = baseline === undefined ? undefined : meanUs.get(baseline);
    if (baseline !== undefined && baselineUs === undefined) throw new Error(`micro-benchmark "${name}": no micro-benchmark named "${baseline}"`);
    return {
      name,
      opsPerSec: median(rounds.map((r) => r.opsPerSec)),
      meanUs: meanUs.get(name)!,
      baseline: baseline === undefined ? null : { name: baseline, ratio: meanUs.get(name)! / baselineUs! },
      rounds,
    };
  });
}

interface RunGuard {
  /** Aborted on SIGINT/SIGTERM or when the budget runs out before a platform is attached. */
  signal: AbortSignal;
  /** From now on an interruption stops this platform (`stop` is idempotent) and exits. */
  attach(platform: BenchPlatform): void;
  /** Replaces the time budget, counted from now. */
  setBudget(seconds: number): void;
  /** Runs `cleanup` before the platform stops if the run is interrupted; returns its remover. */
  addCleanup(cleanup: () => Promise<void>): () => void;
  release(): void;
}

/**
 * Bounds the run and cleans up when interrupted: SIGINT/SIGTERM, or the run outliving its
 * time budget (SETUP_BUDGET_S until `setBudget`), stop the platform (dropping the database
 * and the Redis keys) and exit. Before a platform is attached, they abort `signal` instead,
 * which makes `startBenchPlatform` undo its work and reject.
 */
function guardRun(): RunGuard {
  const controller = new AbortController();
  let platform: BenchPlatform | undefined;
  const cleanups = new Set<() => Promise<void>>();
  let aborting = false;
  const abort = (reason: string, code: number) => {
    if (aborting) return;
    aborting = true;
    process.exitCode = code;
    if (!platform) {
      log(`${reason}: abandoning start-up`);
      controller.abort();
      return;
    }
    log(`${reason}: stopping the platform and cleaning up`);
    const attached = platform;
    Promise.allSettled([...cleanups].map((cleanup) => cleanup()))
      .then(() => attached.stop())
      .then(
      () => process.exit(code),
      (error: unknown) => {
        log(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(code);
      },
    );
  };
  let timer: NodeJS.Timeout | undefined;
  const setBudget = (seconds: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => abort(`the run exceeded its time budget of ${Math.round(seconds)} s`, 1), seconds * 1_000);
    timer.unref();
  };
  const onSigint = () => abort('SIGINT', 130);
  const onSigterm = () => abort('SIGTERM', 143);
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  setBudget(SETUP_BUDGET_S);
  return {
    signal: controller.signal,
    attach(attached) {
      platform = attached;
    },
    setBudget,
    addCleanup(cleanup) {
      cleanups.add(cleanup);
      return () => cleanups.delete(cleanup);
    },
    release() {
      clearTimeout(timer);
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
    },
  };
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`[bench] FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode ??= 1;
  },
);
