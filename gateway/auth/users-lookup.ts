import type { IdentitySigner } from '../../lib/auth/identity-header.js';
import { gatewayServicePrincipal } from '../../lib/auth/principal.js';

/** The users subgraph could not answer an internal lookup (down, too slow, or errors). */
export class UsersLookupUnavailable extends Error {}

/** Runs one query against the users subgraph's internal (`@inaccessible`) fields and returns its data. */
export type UsersLookup = <Data>(query: string, variables: Record<string, unknown>) => Promise<Data>;

/**
 * Internal lookups the gateway makes as its own service principal, straight to the users
 * subgraph (API keys, sessions' revocation). Null without a users subgraph in the supergraph.
 */
export function createUsersLookup(options: { url: string | null; identity: IdentitySigner; timeoutMs: number }): UsersLookup | null {
  const { url } = options;
  if (!url) return null;
  return async <Data>(query: string, variables: Record<string, unknown>): Promise<Data> => {
    let body: { data?: Data; errors?: unknown[] };
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-lotabots-identity': await options.identity.sign(gatewayServicePrincipal),
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      body = (await response.json()) as typeof body;
    } catch (error) {
      throw new UsersLookupUnavailable(`users lookup failed: ${(error as Error).name}`);
    }
    if (!body.data || body.errors?.length) throw new UsersLookupUnavailable('users lookup returned errors');
    return body.data;
  };
}
