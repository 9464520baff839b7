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
  failures: Failures;
  rounds: LoadResult[];
}

/** Seconds `measureVariants` may take at most: the start-ups, every window with slack, the stops. */
export function variantBudgetSeconds(settings: VariantSettings, variants: number, windowsPerRound: number): number {
  return variants * 90 + settings.rounds * windowsPerRound * (settings.warmupS + settings.durationS + 30) + variants * 30;
}

/**
 * Starts one gateway process per variant, `check`s each, then per round runs every request
 * against every variant (alternating the order, which cancels a trend in the machine's load)
 * and each `url` request once. Rows come back per request, in variant order.
 */
export async function measureVariants(
  context: BenchContext,
  settings: VariantSettings,
  variants: readonly GatewayVariant[],
  requests: readonly VariantRequest[],
  hooks: SubscriptionRunHooks & { part: string; check(url: string, variant: GatewayVariant): Promise<void> },
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
    const cells = new Map<string, { row: Omit<VariantRow, 'reqPerSec' | 'p50Ms' | 'p99Ms' | 'cpuMsPerRequest' | 'failures'>; cpu: number[] }>();
    const cell = (request: VariantRequest, name: string, env: Record<string, string>) => {
      const key = `${request.name}\n${name}`;
      if (!cells.has(key)) cells.set(key, { row: { name, request: request.name, env, rounds: [] }, cpu: [] });
      return cells.get(key)!;
    };
    const load = { connections: settings.connections, durationS: settings.durationS };
    const window = async (url: string, request: VariantRequest) => {
      const target = { url, body: request.body, headers: await request.headers() };
      if (settings.warmupS > 0) await runLoad(target, { ...load, durationS: settings.warmupS });
      return runLoad(target, load);
    };
    for (let round = 1; round <= settings.rounds; round++) {
      const order = round % 2 === 1 ? [...gateways.entries()] : [...gateways.entries()].reverse();
      for (const request of requests) {
        if (request.url) {
          const result = await window(request.url, request);
          const entry = cell(request, 'direct', {});
          entry.row.rounds.push(result);
          entry.cpu.push(Number.NaN);
          log(`${part} round ${round}/${settings.rounds} ${request.name} direct: ${Math.round(result.reqPerSec)} req/s, p50 ${result.p50Ms.toFixed(2)} ms`);
          continue;
        }
        for (const [index, gateway] of order) {
          const variant = variants[index]!;
          const cpuBefore = await cpuSecondsOf(gateway, part);
          const result = await window(gateway.url, request);
          const cpuMs = ((await cpuSecondsOf(gateway, part)) - cpuBefore) * 1_000;
          const entry = cell(request, variant.name, variant.env);
          entry.row.rounds.push(result);
          entry.cpu.push(result.requests > 0 ? cpuMs / result.requests : Number.NaN);
          log(
            `${part} round ${round}/${settings.rounds} ${request.name} ${variant.name}: ${Math.round(result.reqPerSec)} req/s, ` +
              `p50 ${result.p50Ms.toFixed(2)} ms, gateway CPU ${entry.cpu.at(-1)!.toFixed(3)} ms/request, failures ${failureCount(result.failures)}`,
          );
        }
      }
    }
    return [...cells.values()].map(({ row, cpu }) => ({
      ...row,
      reqPerSec: median(row.rounds.map((r) => r.reqPerSec)),
      p50Ms: median(row.rounds.map((r) => r.p50Ms)),
      p99Ms: median(row.rounds.map((r) => r.p99Ms)),
      cpuMsPerRequest: median(cpu),
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
