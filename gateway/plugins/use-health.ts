import type { Plugin } from 'graphql-yoga';
import { IDENTITY_HEADER } from '../../lib/auth/identity-header.js';

export interface SubgraphEndpoint {
  name: string;
  url: string;
}

export type SubgraphStatus = 'up' | 'down';

/**
 * Probes a subgraph with `{ __typename }` on its routing URL, which every GraphQL server
 * answers, so this works for any supergraph, not only ours.
 */
export async function probeSubgraph(subgraph: SubgraphEndpoint, timeoutMs: number, identityHeader: string): Promise<SubgraphStatus> {
  try {
    const response = await fetch(subgraph.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', [IDENTITY_HEADER]: identityHeader },
      body: '{"query":"{__typename}"}',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await response.json()) as { data?: { __typename?: string } };
    return response.ok && body.data?.__typename ? 'up' : 'down';
  } catch {
    return 'down';
  }
}

/**
 * `/health` (liveness): always 200 while the process serves, with `status: "ok"` or
 * `"degraded"` and each subgraph's state, so an operator sees a dead subgraph without the
 * orchestrator restarting a gateway that is fine.
 * `/ready` (readiness): 200 once the supergraph is loaded, 503 while draining for shutdown.
 */
export function useHealth(options: {
  subgraphs: SubgraphEndpoint[];
  probeTimeoutMs: number;
  isReady: () => boolean;
  /** A signed anonymous identity, so probes pass the subgraphs' gateway check. */
  probeIdentity: () => Promise<string>;
}): Plugin {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname === '/health') {
        const identityHeader = await options.probeIdentity();
        const states = await Promise.all(options.subgraphs.map((s) => probeSubgraph(s, options.probeTimeoutMs, identityHeader)));
        const subgraphs = Object.fromEntries(options.subgraphs.map((s, i) => [s.name, states[i]]));
        const status = states.every((state) => state === 'up') ? 'ok' : 'degraded';
        endResponse(Response.json({ status, subgraphs }, { headers: { 'cache-control': 'no-store' } }));
      } else if (url.pathname === '/ready') {
        const ready = options.isReady();
        endResponse(new fetchAPI.Response(ready ? 'ready' : 'not ready', { status: ready ? 200 : 503 }));
      }
    },
  };
}
