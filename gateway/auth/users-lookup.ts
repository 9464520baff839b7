import type { IdentitySigner } from '../../lib/auth/identity-header.js';
import { gatewayServicePrincipal } from '../../lib/auth/principal.js';
import type { Upstream } from '../upstream/index.js';

/** The users subgraph could not answer an internal lookup (down, too slow, or errors). */
export class UsersLookupUnavailable extends Error {}

/** Runs one query against the users subgraph's internal (`@inaccessible`) fields and returns its data. */
export type UsersLookup = <Data>(query: string, variables: Record<string, unknown>) => Promise<Data>;

/**
 * Internal lookups the gateway makes as its own service principal, straight to the users
 * subgraph (API keys, sessions' revocation). Null without a users subgraph in the supergraph.
 */
export function createUsersLookup(options: { subgraph: string | null; identity: IdentitySigner; upstream: Pick<Upstream, 'execute'> }): UsersLookup | null {
  const { subgraph } = options;
  if (!subgraph) return null;
  const caller = { identityHeader: () => options.identity.sign(gatewayServicePrincipal) };
  return async <Data>(query: string, variables: Record<string, unknown>): Promise<Data> => {
    let body: { data?: unknown; errors?: readonly unknown[] };
    try {
      body = await options.upstream.execute(subgraph, { query, variables }, caller);
    } catch (error) {
      throw new UsersLookupUnavailable(`users lookup failed: ${String((error as { extensions?: { reason?: unknown } }).extensions?.reason)}`);
    }
    if (!body.data || body.errors?.length) throw new UsersLookupUnavailable('users lookup returned errors');
    return body.data as Data;
  };
}
