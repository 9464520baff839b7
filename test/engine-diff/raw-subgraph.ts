import type { GraphQLRequestBody } from '../../gateway/upstream/index.js';
import { listen } from '../../lib/http.js';

/** What a raw subgraph answers to one request: any JSON, valid for the schema or not. */
export type RawResponder = (request: GraphQLRequestBody) => unknown;

/**
 * A subgraph that answers with whatever JSON `respond` gives, on a real HTTP server (port 0):
 * for a subgraph that breaks its schema's promises in ways graphql-js never would (a string
 * for an Int, a value outside an enum, an object for a list, an unknown `__typename`).
 */
export async function startRawSubgraph(name: string, typeDefs: string, respond: RawResponder) {
  const server = await listen(
    (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = JSON.stringify(respond(JSON.parse(Buffer.concat(chunks).toString('utf8')) as GraphQLRequestBody));
        response.writeHead(200, { 'content-type': 'application/json' }).end(body);
      });
    },
    { host: '127.0.0.1', port: 0 },
  );
  return { name, url: `${server.url}/graphql`, typeDefs, close: () => server.close(0) };
}
