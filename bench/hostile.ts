import { performance } from 'node:perf_hooks';

import { deployedGateway } from './lib/deployed-gateway.js';
import { type GatewayProcess, platformGatewayEnv, startGatewayProcess } from './lib/gateway-process.js';
import { postGraphQL } from './lib/graphql.js';
import { hostileCorpus, type HostileOutcome, isExpected } from './lib/hostile-corpus.js';
import { percentileOfSorted } from './lib/stats.js';
import type { BenchContext } from './scenarios.js';
import type { SubscriptionRunHooks } from './subscriptions.js';

/**
 * The hostile-corpus benchmark (issue: "one 20 MiB anonymous POST kills the gateway as
 * deployed"). Starts the gateway as Kubernetes runs it (the compiled build, the manifest's
 * NODE_OPTIONS) as a process of its own in front of the benchmark platform's subgraphs, reads
 * its idle RSS (the baseline), then for `seconds` fires the hostile corpus at it from
 * `connections` concurrent senders (each request on a connection of its own) while
 * NORMAL_CONNECTIONS keep-alive clients send an ordinary anonymous query. Its RSS is sampled
 * all along and its peak (VmHWM, reset before the attack) compared with the container's
 * memory limit.
 */

export interface HostileSettings {
  seconds: number;
  /** Concurrent hostile senders. */
  connections: number;
  /** The gateway process's LOG_LEVEL. */
  logLevel: string;
}

export interface HostileResult {
  settings: { seconds: number; connections: number; normalConnections: number; nodeOptions: string; memoryLimitBytes: number };
  /** Gateway RSS in KiB: ready and idle (the baseline), the peak during the attack, and after it. */
  memory: { idleKiB: number; peakKiB: number; endKiB: number | null; peakFrom: 'VmHWM' | 'samples'; samples: number };
  /** Peak RSS ≤ the container's memory limit. */
  withinLimit: boolean;
  /** The process was still running after the attack and answered the normal query. */
  survived: boolean;
  /** Per kind of hostile request: how many were sent, what they got, how many got something else. */
  requests: Array<{ name: string; sent: number; outcomes: Record<string, number>; unexpected: number }>;
  /** The ordinary query during the attack. */
  normal: { sent: number; succeeded: number; p50Ms: number; p99Ms: number; firstFailure: string | null };
}

/** Clients sending the ordinary query during the attack. @default 4 */
const NORMAL_CONNECTIONS = 4;
/** The ordinary query: anonymous, public, one subgraph fetch. */
const NORMAL_QUERY = '{ models { id } }';
/** @default 50 // ms between RSS samples */
const SAMPLE_MS = 50;

/** Seconds the phase may take at most: start-up, the attack, in-flight requests (≤ 30 s each), stop. */
export function hostileBudgetSeconds(settings: HostileSettings): number {
  return 90 + settings.seconds + 30 + 30;
}

export async function measureHostile(context: BenchContext, settings: HostileSettings, { log, addCleanup }: SubscriptionRunHooks): Promise<HostileResult> {
  const deployed = deployedGateway();
  let gateway: GatewayProcess | undefined;
  const removeCleanup = addCleanup(async () => gateway?.stop());
  try {
    log(`hostile corpus: starting the gateway as deployed (NODE_OPTIONS=${deployed.nodeOptions})`);
    gateway = await startGatewayProcess({
      env: platformGatewayEnv(context, { keyPrefixSuffix: 'hostile-gateway:', logLevel: settings.logLevel, nodeOptions: deployed.nodeOptions }),
    });
    const target = gateway;
    const normalQuery = async (): Promise<string | null> => {
      try {
        const answer = await postGraphQL(target.url, { query: NORMAL_QUERY });
        if (answer.status !== 200 || answer.errors || !Array.isArray((answer.data as { models?: unknown } | undefined)?.models)) {
          return `status ${answer.status}${answer.errors ? ` ${JSON.stringify(answer.errors).slice(0, 200)}` : ''}`;
        }
        return null;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    };
    const first = await normalQuery();
    if (first !== null) throw new Error(`hostile corpus: the gateway process did not answer the normal query: ${first}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const idle = await target.memory();
    if (!idle) throw new Error('hostile corpus: no /proc memory reading for the gateway process');

    const peakFrom = (await target.resetPeak()) ? 'VmHWM' : 'samples';
    let sampledPeakKiB = idle.rssKiB;
    let samples = 0;
    const sampler = setInterval(() => {
      void target.memory().then((reading) => {
        if (!reading) return;
        samples++;
        sampledPeakKiB = Math.max(sampledPeakKiB, reading.rssKiB);
      });
    }, SAMPLE_MS);

    log(`hostile corpus: ${settings.connections} hostile senders and ${NORMAL_CONNECTIONS} normal clients for ${settings.seconds} s`);
    const deadline = performance.now() + settings.seconds * 1_000;
    const running = () => performance.now() < deadline && target.alive();
    const tallies = hostileCorpus.map((request) => ({ request, sent: 0, outcomes: new Map<HostileOutcome, number>(), unexpected: 0 }));
    let next = 0;
    const attacker = async () => {
      while (running()) {
        const tally = tallies[next++ % tallies.length]!;
        tally.sent++;
        const outcome = await tally.request.send(target.url);
        tally.outcomes.set(outcome, (tally.outcomes.get(outcome) ?? 0) + 1);
        if (!isExpected(tally.request, outcome)) tally.unexpected++;
      }
    };
    const normal = { sent: 0, succeeded: 0, latencies: [] as number[], firstFailure: null as string | null };
    const client = async () => {
      while (running()) {
        const start = performance.now();
        normal.sent++;
        const failure = await normalQuery();
        if (failure === null) {
          normal.succeeded++;
          normal.latencies.push(performance.now() - start);
        } else {
          normal.firstFailure ??= failure;
        }
      }
    };
    try {
      await Promise.all([...Array.from({ length: settings.connections }, attacker), ...Array.from({ length: NORMAL_CONNECTIONS }, client)]);
    } finally {
      clearInterval(sampler);
    }
    const end = await target.memory();
    const peakKiB = peakFrom === 'VmHWM' && end ? Math.max(end.hwmKiB, sampledPeakKiB) : sampledPeakKiB;
    const survived = target.alive() && (await normalQuery()) === null;
    log(`hostile corpus: peak RSS ${Math.round((peakKiB * 1024) / 1e6)} MB, ${normal.succeeded}/${normal.sent} normal queries answered, gateway ${survived ? 'up' : 'DOWN'}`);
    const sorted = normal.latencies.sort((a, b) => a - b);
    return {
      settings: {
        seconds: settings.seconds,
        connections: settings.connections,
        normalConnections: NORMAL_CONNECTIONS,
        nodeOptions: deployed.nodeOptions,
        memoryLimitBytes: deployed.memoryLimitBytes,
      },
      memory: { idleKiB: idle.rssKiB, peakKiB, endKiB: end?.rssKiB ?? null, peakFrom, samples },
      withinLimit: survived && peakKiB * 1024 <= deployed.memoryLimitBytes,
      survived,
      requests: tallies.map(({ request, sent, outcomes, unexpected }) => ({ name: request.name, sent, outcomes: Object.fromEntries([...outcomes].map(([k, v]) => [String(k), v])), unexpected })),
      normal: {
        sent: normal.sent,
        succeeded: normal.succeeded,
        p50Ms: percentileOfSorted(sorted, 50),
        p99Ms: percentileOfSorted(sorted, 99),
        firstFailure: normal.firstFailure,
      },
    };
  } finally {
    await gateway?.stop();
    removeCleanup();
  }
}

/** Failures that make the run exit 1: the gateway died or went over its memory limit, or a hostile request got an answer it should not have. */
export function hostileFailureCount(result: HostileResult | { skipped: string }): number {
  if ('skipped' in result) return 0;
  return (result.survived ? 0 : 1) + (result.withinLimit ? 0 : 1) + result.requests.reduce((sum, row) => sum + row.unexpected, 0);
}
