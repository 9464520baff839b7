import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { IDENTITY_HEADER } from '../../lib/auth/identity-header.js';
import { createUpstream, type SubgraphRequest } from './index.js';

/** A subgraph stand-in on loopback: answers `{ __typename }`, HTTP 500 on /broken, nothing ever on /silent. */
async function startSubgraph() {
  const received: IncomingHttpHeaders[] = [];
  const server: Server = createServer((request, response) => {
    received.push(request.headers);
    request.resume();
    request.on('end', () => {
      if (request.url === '/silent') return;
      if (request.url === '/broken') {
        response.writeHead(500, { 'content-type': 'text/plain' }).end('stack trace of the subgraph');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"__typename":"Query"}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, received, close: () => new Promise<void>((resolve) => server.close(() => resolve()).closeAllConnections()) };
}

describe('upstream: the one way out to the subgraphs', () => {
  let subgraph: Awaited<ReturnType<typeof startSubgraph>>;
  const seen: SubgraphRequest[] = [];
  const caller = { identityHeader: async () => 'signed-identity' };
  let upstream: ReturnType<typeof createUpstream>;

  beforeAll(async () => {
    subgraph = await startSubgraph();
    upstream = createUpstream({
      subgraphs: [
        { name: 'ok', url: `${subgraph.base}/graphql` },
        { name: 'broken', url: `${subgraph.base}/broken` },
        { name: 'silent', url: `${subgraph.base}/silent` },
      ],
      timeoutMs: 5_000,
      keepAliveMs: 10_000,
      protocolOf: () => 'ws',
      registry: new Registry(),
      hooks: [
        (request) => {
          seen.push({ ...request, headers: { ...request.headers } });
          request.headers['x-trace-id'] = `trace-${request.kind}`;
        },
      ],
    });
  });
  afterAll(() => subgraph?.close());

  it('stamps the identity header and runs the hooks on every fetch and probe', async () => {
    expect(await upstream.execute('ok', { query: '{ __typename }' }, caller)).toEqual({ data: { __typename: 'Query' } });
    expect(await upstream.probe('ok', caller, 5_000)).toBe('up');
    expect(subgraph.received.map((headers) => [headers[IDENTITY_HEADER], headers['x-trace-id']])).toEqual([
      ['signed-identity', 'trace-fetch'],
      ['signed-identity', 'trace-probe'],
    ]);
    expect(seen.map(({ subgraph, kind }) => [subgraph, kind])).toEqual([
      ['ok', 'fetch'],
      ['ok', 'probe'],
    ]);
  });

  it('maps a failed fetch to SUBGRAPH_UNAVAILABLE naming the subgraph, without its URL or body', async () => {
    const error = await upstream.execute('broken', { query: '{ __typename }' }, caller).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ message: 'Subgraph "broken" is unavailable', extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'broken', reason: 'http 500' } });
    expect(JSON.stringify(error)).not.toMatch(/127\.0\.0\.1|stack trace/);
    expect(await upstream.probe('broken', caller, 5_000)).toBe('down');
  });

  it('bounds every fetch by the timeout: a subgraph that never answers is SUBGRAPH_UNAVAILABLE (timeout)', async () => {
    const error = await upstream.execute('silent', { query: '{ __typename }' }, caller).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'silent', reason: 'timeout' } });
  });
});
