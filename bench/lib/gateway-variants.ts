import type { BenchContext } from '../scenarios.js';
import type { SubscriptionRunHooks } from '../subscriptions.js';
import { type GatewayProcess, metricValue, platformGatewayEnv, startGatewayProcess } from './gateway-process.js';
import { failureCount, type Failures, type LoadResult, runLoad, sumFailures } from './load.js';
import { median } from './stats.js';

/**
 * Gateway processes that differ only in a few settings (features on/off, one engine or
 * another), measured side by side: the same compiled build in front of the benchmark
 * platform's subgraphs, the same requests, in interleaved rounds.
 */

export interface VariantSettings {
  rounds: number;
  warmupS: number;
  durationS: number;
  connections: number;
  /** The gateway processes' LOG_LEVEL and NODE_OPTIONS. */
  logLevel: string;
  nodeOptions: string;
}

export interface GatewayVariant {
  name: string;
  /** What differs from the production settings (platformGatewayEnv). */
  env: Record<string, string>;
}

/** One request measured against every variant, or once per round at `url` (a direct subgraph baseline). */
export interface VariantRequest {
  name: string;
  body: Record<string, unknown>;
  headers(): Promise<Record<string, string>>;
  /** Measured here rather than through each gateway. */
  url?: string;
  /** Connections for this request's windows instead of the settings' (1: latency without queueing). */
  connections?: number;
}

export interface VariantRow {
  /** The variant's name, or `direct` for a request with its own url. */
  name: string;
  request: string;
  env: Record<string, string>;
  /** Medians over rounds. */
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Gateway process CPU time (user + system) per completed request in the window, median over rounds; NaN for `direct`. */
  cpuMsPerRequest: number;
  /** That figure per round, in round order. */
  cpuRounds: number[];
  failures: Failures;
  rounds: LoadResult[];
}

/** Seconds `measureVariants` may take at most: the start-ups, every window with slack, the stops. */
export function variantBudgetSeconds(settings: VariantSettings, variants: number, windowsPerRound: number): number {
  return variants * 90 + settings.rounds * windowsPerRound * (settings.warmupS + settings.durationS + 30) + variants * 30;
}

/**
 * Starts one gateway process per variant, `check`s each, then per round runs every request
 * against every variant and each `url` request once. The variants are measured one after the
 * other (alternating the order, which cancels a trend in the machine's load) or, with
 * `simultaneous`, all at once, a load generator each, so whatever else the machine runs at
 * that moment slows them alike (for ratios finer than one window's spread). Rows come back
 * per request, in variant order.
 */
export async function measureVariants(
  context: BenchContext,
  settings: VariantSettings,
  variants: readonly GatewayVariant[],
  requests: readonly VariantRequest[],
  hooks: SubscriptionRunHooks & { part: string; simultaneous?: boolean; check(url: string, variant: GatewayVariant): Promise<void> },
): Promise<VariantRow[]> {
  const { log, addCleanup, part } = hooks;
  const gateways: GatewayProcess[] = [];
  const removeCleanup = addCleanup(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
  });
  try {
    for (const variant of variants) {
      log(`${part}: starting a gateway process with ${Object.entries(variant.env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
      const env = platformGatewayEnv(context, { keyPrefixSuffix: `${part}-${variant.name.replaceAll(' ', '-')}:`, logLevel: settings.logLevel, nodeOptions: settings.nodeOptions });
      gateways.push(await startGatewayProcess({ env: { ...env, ...variant.env } }));
    }
    for (const [index, gateway] of gateways.entries()) await hooks.check(gateway.url, variants[index]!);
    const cells = new Map<string, Pick<VariantRow, 'name' | 'request' | 'env' | 'rounds' | 'cpuRounds'>>();
    const cell = (request: VariantRequest, name: string, env: Record<string, string>) => {
      const key = `${request.name}\n${name}`;
      if (!cells.has(key)) cells.set(key, { name, request: request.name, env, rounds: [], cpuRounds: [] });
      return cells.get(key)!;
    };
    /**
     * One window at each url at once (warm-ups, then measured windows, together); `cpuOf`
     * reads each one's process CPU seconds around the measured window only.
     */
    const windows = async (urls: readonly string[], request: VariantRequest, cpuOf: (index: number) => Promise<number>) => {
      const targets = await Promise.all(urls.map(async (url) => ({ url, body: request.body, headers: await request.headers() })));
      const load = { connections: request.connections ?? settings.connections, durationS: settings.durationS };
      if (settings.warmupS > 0) await Promise.all(targets.map((target) => runLoad(target, { ...load, durationS: settings.warmupS })));
      const cpuBefore = await Promise.all(urls.map((_, index) => cpuOf(index)));
      const results = await Promise.all(targets.map((target) => runLoad(target, load)));
      const cpuAfter = await Promise.all(urls.map((_, index) => cpuOf(index)));
      return results.map((result, index) => ({ result, cpuMsPerRequest: result.requests > 0 ? ((cpuAfter[index]! - cpuBefore[index]!) * 1_000) / result.requests : Number.NaN }));
    };
    for (let round = 1; round <= settings.rounds; round++) {
      const order = round % 2 === 1 ? [...gateways.entries()] : [...gateways.entries()].reverse();
      for (const request of requests) {
        if (request.url) {
          const { result } = (await windows([request.url], request, async () => Number.NaN))[0]!;
          const entry = cell(request, 'direct', {});
          entry.rounds.push(result);
          entry.cpuRounds.push(Number.NaN);
          log(`${part} round ${round}/${settings.rounds} ${request.name} direct: ${Math.round(result.reqPerSec)} req/s, p50 ${result.p50Ms.toFixed(2)} ms`);
          continue;
        }
        const groups = hooks.simultaneous ? [order] : order.map((entry) => [entry]);
        for (const group of groups) {
          const measured = await windows(
            group.map(([, gateway]) => gateway.url),
            request,
            (index) => cpuSecondsOf(group[index]![1], part),
          );
          for (const [position, { result, cpuMsPerRequest }] of measured.entries()) {
            const variant = variants[group[position]![0]]!;
            const entry = cell(request, variant.name, variant.env);
            entry.rounds.push(result);
            entry.cpuRounds.push(cpuMsPerRequest);
            log(
              `${part} round ${round}/${settings.rounds} ${request.name} ${variant.name}: ${Math.round(result.reqPerSec)} req/s, ` +
                `p50 ${result.p50Ms.toFixed(2)} ms, gateway CPU ${cpuMsPerRequest.toFixed(3)} ms/request, failures ${failureCount(result.failures)}`,
            );
          }
        }
      }
    }
    return [...cells.values()].map((row) => ({
      ...row,
      reqPerSec: median(row.rounds.map((r) => r.reqPerSec)),
      p50Ms: median(row.rounds.map((r) => r.p50Ms)),
      p99Ms: median(row.rounds.map((r) => r.p99Ms)),
      cpuMsPerRequest: median(row.cpuRounds),
      failures: sumFailures(row.rounds.map((r) => r.failures)),
    }));
  } finally {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    removeCleanup();
  }
}

/** The gateway process's CPU time so far (prom-client's process metric, from `process.cpuUsage()`). */
async function cpuSecondsOf(gateway: GatewayProcess, part: string): Promise<number> {
  const seconds = metricValue(await gateway.metrics(), 'lotabots_process_cpu_seconds_total');
  if (Number.isNaN(seconds)) throw new Error(`${part}: the gateway exports no lotabots_process_cpu_seconds_total`);
  return seconds;
}
