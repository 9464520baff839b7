import { type GatewayVariant, measureVariants, variantBudgetSeconds, type VariantRequest, type VariantRow, type VariantSettings } from './lib/gateway-variants.js';
import { postGraphQL } from './lib/graphql.js';
import { type BenchContext, type HttpScenario, httpScenarios } from './scenarios.js';
import type { SubscriptionRunHooks } from './subscriptions.js';

/**
 * The engines side by side (issue 19): two gateway processes of the same build that differ only
 * in `GATEWAY_ENGINE` (`apollo`: `@apollo/gateway`'s executor; `native`: our own), in front of
 * the same subgraphs, on two requests of the HTTP part: `me` across four subgraphs (the users
 * fetch, then entity fetches to usage, autonomy and inference: the nearest this supergraph
 * comes to bench-peers' TestQuery for a seeded user, who has no inference jobs to nest under)
 * and `me` on one subgraph, which is also sent to the users subgraph directly, so the gateway's
 * p50 overhead over the subgraph shows. Under the part's connections that p50 is mostly queueing
 * (a closed loop's latency is connections ÷ req/s), so `me` on one subgraph is measured once more,
 * through each engine and directly, on one connection: what the gateway adds to one call, the
 * figure issue 19 sets a target for. A build without `GATEWAY_ENGINE` ignores it, and both rows
 * then run the same engine.
 */

export type EngineSettings = VariantSettings;

export interface EngineComparison {
  request: string;
  /** native ÷ apollo: req/s (above 1: native serves more) and gateway CPU ms/request (below 1: native costs less). */
  reqPerSecRatio: number;
  cpuRatio: number;
  /** Gateway p50 − direct subgraph p50, per engine, where the request was also sent directly. */
  overheadP50Ms?: { apollo: number; native: number };
  /** The most the overhead may be (on one connection, where no request queues behind another). */
  targetP50Ms?: number;
}

export interface EngineResult {
  rows: VariantRow[];
  comparisons: EngineComparison[];
}

const VARIANTS: readonly GatewayVariant[] = [
  { name: 'apollo', env: { GATEWAY_ENGINE: 'apollo' } },
  { name: 'native', env: { GATEWAY_ENGINE: 'native' } },
];
/** The HTTP part's scenarios measured here, by the name the engine table gives them. */
const SCENARIOS = { 'gateway, 4 subgraphs': '4 subgraphs (entities)', 'gateway, 1 subgraph': '1 subgraph' } as const;
const DIRECT_SCENARIO = 'direct subgraph';
const DIRECT_OF = '1 subgraph';
/** `1 subgraph` through each engine and directly, on one connection. */
const LATENCY = '1 subgraph, 1 connection';
/** Issue 19: gateway p50 over calling the subgraph directly, one-subgraph query. */
const OVERHEAD_TARGET_P50_MS = 1;

/** Seconds the part may take at most: two start-ups, every window with slack, two stops. */
export function engineBudgetSeconds(settings: EngineSettings): number {
  return variantBudgetSeconds(settings, VARIANTS.length, (Object.keys(SCENARIOS).length + 1) * VARIANTS.length + 2);
}

export async function measureEngines(context: BenchContext, settings: EngineSettings, hooks: SubscriptionRunHooks): Promise<EngineResult> {
  const scenarios = new Map(httpScenarios(context).map((scenario) => [scenario.name, scenario]));
  const scenario = (name: string) => scenarios.get(name) ?? fail(`the HTTP scenarios have no "${name}"`);
  const requestOf = (from: HttpScenario, name: string, options: Pick<VariantRequest, 'url' | 'connections'> = {}): VariantRequest => ({
    name,
    body: from.body as Record<string, unknown>,
    headers: async () => (await from.headers?.()) ?? {},
    ...options,
  });
  const gatewayScenarios = Object.entries(SCENARIOS).map(([from, name]) => ({ from: scenario(from), name }));
  const direct = scenario(DIRECT_SCENARIO);
  const requests = [
    ...gatewayScenarios.map(({ from, name }) => requestOf(from, name)),
    requestOf(direct, DIRECT_OF, { url: direct.url }),
    requestOf(scenario('gateway, 1 subgraph'), LATENCY, { connections: 1 }),
    requestOf(direct, LATENCY, { url: direct.url, connections: 1 }),
  ];
  const rows = await measureVariants(context, settings, VARIANTS, requests, {
    ...hooks,
    part: 'engines',
    // Each engine must give each request the answer the HTTP part verifies.
    async check(url, variant) {
      for (const { from } of gatewayScenarios) {
        const answer = await postGraphQL(url, from.body, (await from.headers?.()) ?? {});
        if (answer.status !== 200 || answer.errors) throw new Error(`engines: ${variant.name} did not answer "${from.name}": status ${answer.status} ${JSON.stringify(answer.errors ?? null).slice(0, 200)}`);
        from.verify(answer.data);
      }
    },
  });
  const rowOf = (request: string, name: string) => rows.find((row) => row.request === request && row.name === name)!;
  const comparisons = [...Object.values(SCENARIOS), LATENCY].map((request): EngineComparison => {
    const apollo = rowOf(request, 'apollo');
    const native = rowOf(request, 'native');
    const directRow = request === DIRECT_OF || request === LATENCY ? rowOf(request, 'direct') : undefined;
    return {
      request,
      reqPerSecRatio: apollo.reqPerSec > 0 ? native.reqPerSec / apollo.reqPerSec : Number.NaN,
      cpuRatio: apollo.cpuMsPerRequest > 0 ? native.cpuMsPerRequest / apollo.cpuMsPerRequest : Number.NaN,
      ...(directRow && { overheadP50Ms: { apollo: apollo.p50Ms - directRow.p50Ms, native: native.p50Ms - directRow.p50Ms } }),
      ...(request === LATENCY && { targetP50Ms: OVERHEAD_TARGET_P50_MS }),
    };
  });
  return { rows, comparisons };
}

function fail(message: string): never {
  throw new Error(message);
}
