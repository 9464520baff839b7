import { measureVariants, variantBudgetSeconds, type VariantRow, type VariantSettings } from './lib/gateway-variants.js';
import { postGraphQL } from './lib/graphql.js';
import { median } from './lib/stats.js';
import type { BenchContext } from './scenarios.js';
import type { SubscriptionRunHooks } from './subscriptions.js';

/**
 * The issue's row "gateway req/s with cost + persisted features on vs off (target: on costs
 * under 5 % of req/s)". Starts two gateway processes in front of the benchmark platform's
 * subgraphs, the same compiled build with the same settings except: `on` prices every
 * operation and charges the caller's Redis budget (`COST_LIMITS=on`) and holds callers to the
 * trusted documents (`PERSISTED_QUERIES_MODE=enforce`); `off` has neither (`COST_LIMITS=off`,
 * `PERSISTED_QUERIES_MODE=off`). Both get budgets no load here can empty (GENEROUS_RATE_LIMIT_PLANS), so
 * nothing is refused. They are measured in rounds with the same request: in each round both
 * are under load at the same time (a load generator each, the same connections), and the
 * ratios are medians of the rounds' own on ÷ off, so whatever else the machine runs (other
 * processes on a shared machine) slows both alike and cancels out; measured one after the
 * other, a window's req/s moved by far more than the 5 % asked about.
 */

export type FeatureSettings = VariantSettings;

export interface FeatureRow extends Omit<VariantRow, 'name' | 'request'> {
  name: 'features on' | 'features off';
}

export interface FeatureResult {
  query: string;
  on: FeatureRow;
  off: FeatureRow;
  /**
   * on req/s ÷ off req/s: the median over rounds of each round's pair (the two windows of a
   * round run at the same time, so the machine's load moves both alike).
   */
  ratio: number;
  /** Each round's on ÷ off req/s, in round order. */
  roundRatios: number[];
  /** 1 − ratio ≤ TARGET_COST: on costs under 5 % of req/s. */
  withinTarget: boolean;
  /** on CPU ms per request ÷ off CPU ms per request: the median over rounds of each round's pair. */
  cpuRatio: number;
  /** Each round's on ÷ off gateway CPU ms per request, in round order. */
  roundCpuRatios: number[];
  targetCost: number;
}

/** @default 0.05 // the target: the features cost under 5 % of req/s */
const TARGET_COST = 0.05;
/** The request: public, one subgraph fetch, with the seeded user's access token (so it is priced against a user's budget). */
const QUERY = 'query BenchFeatures { models { id } }';
const VARIANTS = [
  { name: 'features on', env: { COST_LIMITS: 'on', PERSISTED_QUERIES_MODE: 'enforce' } },
  { name: 'features off', env: { COST_LIMITS: 'off', PERSISTED_QUERIES_MODE: 'off' } },
] as const;

/** Seconds the part may take at most: two start-ups, every round with slack, two stops. */
export function featureBudgetSeconds(settings: FeatureSettings): number {
  return variantBudgetSeconds(settings, VARIANTS.length, 1);
}

export async function measureFeatures(context: BenchContext, settings: FeatureSettings, hooks: SubscriptionRunHooks): Promise<FeatureResult> {
  const headers = async () => ({ authorization: `Bearer ${await context.session.accessToken()}` });
  const rows = await measureVariants(context, settings, VARIANTS, [{ name: 'features', body: { query: QUERY }, headers }], {
    ...hooks,
    part: 'features',
    // Both gateways under load at once: whatever else the machine runs at that moment slows both alike.
    simultaneous: true,
    check: async (url, variant) => check(url, await headers(), variant.env.COST_LIMITS === 'on'),
  });
  const [on, off] = VARIANTS.map((variant): FeatureRow => {
    const { request: _request, ...row } = rows.find((candidate) => candidate.name === variant.name)!;
    return { ...row, name: variant.name };
  }) as [FeatureRow, FeatureRow];
  const pairs = (ons: number[], offs: number[]) => ons.map((value, round) => value / offs[round]!);
  const roundRatios = pairs(on.rounds.map((r) => r.reqPerSec), off.rounds.map((r) => r.reqPerSec));
  const roundCpuRatios = pairs(on.cpuRounds, off.cpuRounds);
  const ratio = median(roundRatios);
  return { query: QUERY, on, off, ratio, roundRatios, withinTarget: 1 - ratio <= TARGET_COST, targetCost: TARGET_COST, cpuRatio: median(roundCpuRatios), roundCpuRatios };
}

/** One request before measuring: models come back, and extensions.cost only where the cost plugin runs. */
async function check(url: string, headers: Record<string, string>, priced: boolean): Promise<void> {
  const answer = await postGraphQL(url, { query: QUERY }, headers);
  if (answer.status !== 200 || answer.errors || !Array.isArray((answer.data as { models?: unknown } | undefined)?.models)) {
    throw new Error(`features: the gateway did not answer the query: status ${answer.status} ${JSON.stringify(answer.errors ?? null).slice(0, 200)}`);
  }
  const cost = answer.extensions?.cost;
  if ((cost !== undefined) !== priced) throw new Error(`features: extensions.cost ${priced ? 'missing with' : 'present without'} the cost plugin`);
}
