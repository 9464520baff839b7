import type { Plugin } from 'graphql-yoga';

import type { Redis } from '../../lib/redis.js';
import type { Upstream, UpstreamCaller } from '../upstream/index.js';

export type SubgraphStatus = 'up' | 'down';

/** Each subgraph's state, probed at most once per `ttlMs` however many callers ask. */
function cachedProbes(upstream: Pick<Upstream, 'subgraphs' | 'probe'>, timeoutMs: number, ttlMs: number, caller: UpstreamCaller) {
  let last: { at: number; states: Promise<Record<string, SubgraphStatus>> } | undefined;
  const probeAll = async () => {
    const states = await Promise.all(upstream.subgraphs.map((s) => upstream.probe(s.name, caller, timeoutMs)));
    return Object.fromEntries(upstream.subgraphs.map((s, i) => [s.name, states[i]!]));
  };
  return () => {
    // Cached from the start of a probe, so concurrent callers share the one in flight.
    if (!last || performance.now() - last.at >= ttlMs) last = { at: performance.now(), states: probeAll() };
    return last.states;
  };
}

const HEALTH_PATHS = new Set(['/health', '/health/subgraphs', '/ready']);

/** Whether `check` settles successfully within `timeoutMs`. */
async function answersWithin(check: () => Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([check().then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * - `/health` (liveness): 200 while the process serves. It asks nothing of anyone else, so an
 *   overloaded subgraph or Redis can never make Kubernetes restart gateways that are fine.
 * - `/health/subgraphs`: each subgraph's state (`ok` or `degraded`, always 200), for operators;
 *   probed at most once per `subgraphsCacheMs`, so a flood of calls cannot fan out to the subgraphs.
 * - `/ready` (readiness): 200 while the supergraph is loaded (true once this plugin serves), the
 *   process is not draining and Redis answers PING within `probeTimeoutMs`; 503 otherwise, so
 *   traffic goes to replicas that can take it.
 */
export function useHealth(options: {
  /** Probes each subgraph with `{ __typename }`, which every GraphQL server answers. */
  upstream: Pick<Upstream, 'subgraphs' | 'probe'>;
  probeTimeoutMs: number;
  subgraphsCacheMs: number;
  isDraining: () => boolean;
  redis: Pick<Redis, 'ping'>;
  /** Probes go as a signed anonymous caller, so they pass the subgraphs' gateway check. */
  probeCaller: UpstreamCaller;
}): Plugin {
  const subgraphStates = cachedProbes(options.upstream, options.probeTimeoutMs, options.subgraphsCacheMs, options.probeCaller);
  // A fresh object per response: whatwg-node's Response.json writes content-length into it.
  const noStore = () => ({ 'cache-control': 'no-store' });
  return {
    // A guard before the async hook: every GraphQL request passes here, and would otherwise
    // pay for a promise and the pipeline's wait on it.
    onRequest(payload) {
      if (HEALTH_PATHS.has(payload.url.pathname)) return answer(payload);
    },
  };
  async function answer({ url, endResponse, fetchAPI }: Parameters<NonNullable<Plugin['onRequest']>>[0]) {
    if (url.pathname === '/health') {
      endResponse(fetchAPI.Response.json({ status: 'ok' }, { headers: noStore() }));
    } else if (url.pathname === '/health/subgraphs') {
      const subgraphs = await subgraphStates();
      const status = Object.values(subgraphs).every((state) => state === 'up') ? 'ok' : 'degraded';
      endResponse(fetchAPI.Response.json({ status, subgraphs }, { headers: noStore() }));
    } else if (url.pathname === '/ready') {
      const ready = !options.isDraining() && (await answersWithin(() => options.redis.ping(), options.probeTimeoutMs));
      endResponse(new fetchAPI.Response(ready ? 'ready' : 'not ready', { status: ready ? 200 : 503, headers: noStore() }));
    }
  }
}
