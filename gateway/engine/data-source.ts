import type { GraphQLDataSource } from '@apollo/gateway';

import type { Upstream, UpstreamCaller } from '../upstream/index.js';

/** How Apollo's executor calls one subgraph: through the upstream module, as the request's caller. */
export function upstreamDataSource(upstream: Upstream, subgraph: string): GraphQLDataSource {
  return {
    async process(options) {
      const { request, context } = options;
      const incoming = 'incomingRequestContext' in options ? options.incomingRequestContext : undefined;
      const result = await upstream.execute(
        subgraph,
        { query: request.query!, variables: request.variables, operationName: request.operationName ?? undefined },
        context as unknown as UpstreamCaller,
        // A query's fetches are all queries; a mutation's may write, so they are never shared.
        { dedupe: incoming?.operation?.operation === 'query' },
      );
      return result as never;
    },
  };
}
