import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { IDENTITY_HEADER } from '../../lib/auth/identity-header.js';
import { createUpstream, type SubgraphRequest, type UpstreamOptions } from './index.js';

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A subgraph stand-in on loopback: answers `{ __typename }` with the request body echoed, HTTP
 * 500 on /broken, `not json` on /garbled, and holds requests to /held until `release()`.
 */
async function startSubgraph() {
  const received: Received[] = [];
  const held: ServerResponse[] = [];
  const arrivals: (() => void)[] = [];
  let connections = 0;
  const answer = (response: ServerResponse, body: string) =>
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { __typename: 'Query', echo: body } }));
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      received.push({ url: request.url!, headers: request.headers, body });
      for (const arrived of arrivals.splice(0)) arrived();
      if (request.url === '/broken') {
        response.writeHead(500, { 'content-type': 'text/plain' }).end('stack trace of the subgraph');
      } else if (request.url === '/garbled') {
        response.writeHead(200, { 'content-type': 'application/json' }).end('not json');
      } else if (request.url === '/held') {
        Object.assign(response, { echo: body });
        held.push(response);
      } else {
        answer(response, body);
      }
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    received,
    connections: () => connections,
    /** Resolves once `count` requests have arrived in all. */
    async arrived(count: number) {
      while (received.length < count) await new Promise<void>((resolve) => arrivals.push(resolve));
    },
    /** Answers every held request. */
    release: () => held.splice(0).forEach((response) => answer(response, (response as unknown as { echo: string }).echo)),
    /** Drops held requests' sockets without an answer. */
    drop: () => held.splice(0).forEach((response) => response.socket?.destroy()),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type StandIn = Awaited<ReturnType<typeof startSubgraph>>;

function upstreamFor(subgraph: StandIn, overrides: Partial<UpstreamOptions> = {}) {
  return createUpstream({
    subgraphs: ['ok', 'broken', 'garbled', 'held'].map((name) => ({ name, url: `${subgraph.base}/${name === 'ok' ? 'graphql' : name}` })),
    timeoutMs: 5_000,
    connectionsPerSubgraph: 8,
    deduplicate: true,
    keepAliveMs: 10_000,
    protocolOf: () => 'ws',
    registry: new Registry(),
    ...overrides,
  });
}

const caller = { identityHeader: async () => 'signed-identity' };
const query = { query: 'query Q($id: ID!) { node(id: $id) { id } }', variables: { id: '1' }, operationName: 'Q' };

describe('upstream: the one way out to the subgraphs', () => {
  let subgraph: StandIn;
  const seen: SubgraphRequest[] = [];
  let upstream: ReturnType<typeof createUpstream>;

  beforeAll(async () => {
    subgraph = await startSubgraph();
    upstream = upstreamFor(subgraph, {
      hooks: [
        (request) => {
          seen.push({ ...request, headers: { ...request.headers } });
          request.headers['x-trace-id'] = `trace-${request.kind}`;
        },
      ],
    });
  });
  afterEach(() => {
    subgraph.received.length = 0;
    seen.length = 0;
  });
  afterAll(async () => {
    await upstream?.close();
    await subgraph?.close();
  });

  it('stamps the identity header and runs the hooks on every fetch and probe', async () => {
    expect(await upstream.execute('ok', { query: '{ __typename }' }, caller)).toMatchObject({ data: { __typename: 'Query' } });
    expect(await upstream.probe('ok', caller, 5_000)).toBe('up');
    expect(subgraph.received.map(({ headers }) => [headers[IDENTITY_HEADER], headers['x-trace-id']])).toEqual([
      ['signed-identity', 'trace-fetch'],
      ['signed-identity', 'trace-probe'],
    ]);
    expect(seen.map(({ subgraph, kind }) => [subgraph, kind])).toEqual([
      ['ok', 'fetch'],
      ['ok', 'probe'],
    ]);
  });

  it('sends the request as JSON and forwards the request id', async () => {
    await upstream.execute('ok', query, { ...caller, requestId: 'req-1' });
    expect(subgraph.received).toMatchObject([{ url: '/graphql', headers: { 'content-type': 'application/json', 'x-request-id': 'req-1' } }]);
    expect(JSON.parse(subgraph.received[0]!.body)).toEqual(query);
  });

  it('maps a failed fetch to SUBGRAPH_UNAVAILABLE naming the subgraph, without its URL or body', async () => {
    const error = await upstream.execute('broken', { query: '{ __typename }' }, caller).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ message: 'Subgraph "broken" is unavailable', extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'broken', reason: 'http 500' } });
    expect(JSON.stringify(error)).not.toMatch(/127\.0\.0\.1|stack trace/);
    expect(await upstream.probe('broken', caller, 5_000)).toBe('down');
  });

  it('maps a response that is not JSON to SUBGRAPH_UNAVAILABLE (invalid JSON)', async () => {
    await expect(upstream.execute('garbled', { query: '{ __typename }' }, caller)).rejects.toMatchObject({
      extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'garbled', reason: 'invalid JSON' },
    });
  });

  it('reuses keep-alive connections instead of opening one per fetch', async () => {
    const before = subgraph.connections();
    for (let i = 0; i < 5; i++) await upstream.execute('ok', query, caller);
    expect(subgraph.connections() - before).toBeLessThanOrEqual(1);
  });
});

describe('upstream: connections, timeouts and refused connections', () => {
  let subgraph: StandIn;
  beforeAll(async () => {
    subgraph = await startSubgraph();
  });
  afterAll(() => subgraph?.close());

  it('opens at most connectionsPerSubgraph connections; later requests wait for a free one', async () => {
    const upstream = upstreamFor(subgraph, { connectionsPerSubgraph: 2 });
    try {
      const results = Promise.all(Array.from({ length: 6 }, (_, i) => upstream.execute('held', { query: `{ n${i} }` }, caller)));
      await subgraph.arrived(2);
      // Two requests are held on the only two connections; the other four queue in the gateway.
      while (subgraph.received.length < 6) {
        const arrived = subgraph.received.length;
        subgraph.release();
        await subgraph.arrived(Math.min(arrived + 1, 6));
      }
      subgraph.release();
      expect(await results).toHaveLength(6);
      expect(subgraph.connections()).toBe(2);
    } finally {
      await upstream.close();
    }
  });

  it('maps a subgraph slower than timeoutMs to SUBGRAPH_UNAVAILABLE (timeout)', async () => {
    const upstream = upstreamFor(subgraph, { timeoutMs: 200 });
    try {
      await expect(upstream.execute('held', query, caller)).rejects.toMatchObject({ extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'held', reason: 'timeout' } });
    } finally {
      subgraph.drop();
      await upstream.close();
    }
  });

  it('maps a refused connection to SUBGRAPH_UNAVAILABLE (ECONNREFUSED)', async () => {
    const gone = await startSubgraph();
    await gone.close();
    const upstream = upstreamFor(gone);
    try {
      await expect(upstream.execute('ok', query, caller)).rejects.toMatchObject({ extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'ok', reason: 'ECONNREFUSED' } });
      expect(await upstream.probe('ok', caller, 5_000)).toBe('down');
    } finally {
      await upstream.close();
    }
  });
});

describe('upstream: in-flight de-duplication of identical queries', () => {
  let subgraph: StandIn;
  let registry: Registry;
  let upstream: ReturnType<typeof createUpstream>;
  const other = { identityHeader: async () => 'other-identity' };
  const shared = async () => (await registry.getSingleMetric('lotabots_subgraph_fetches_shared_total')!.get()).values.reduce((sum, { value }) => sum + value, 0);

  beforeAll(async () => {
    subgraph = await startSubgraph();
    registry = new Registry();
    upstream = upstreamFor(subgraph, { registry });
  });
  afterEach(() => {
    subgraph.release();
    subgraph.received.length = 0;
  });
  afterAll(async () => {
    await upstream?.close();
    await subgraph?.close();
  });

  /** Starts one fetch, waits until the subgraph holds it, then starts `more` calls while it is in flight. */
  async function whileInFlight<T>(first: () => Promise<T>, more: (() => Promise<T>)[]) {
    const arrived = subgraph.received.length + 1;
    const leader = first();
    await subgraph.arrived(arrived);
    const followers = more.map((call) => call());
    subgraph.release();
    return Promise.all([leader, ...followers]);
  }

  it('sends one request for identical queries in flight, and gives each caller a result object of its own', async () => {
    const before = await shared();
    const results = await whileInFlight(() => upstream.execute('held', query, caller, { dedupe: true }), Array.from({ length: 4 }, () => () => upstream.execute('held', query, caller, { dedupe: true })));
    expect(subgraph.received).toHaveLength(1);
    expect(new Set(results.map((result) => JSON.stringify(result))).size).toBe(1);
    expect(new Set(results).size).toBe(5);
    expect(await shared()).toBe(before + 4);
    // Once answered, nothing is remembered: the next identical query is fetched again.
    await whileInFlight(() => upstream.execute('held', query, caller, { dedupe: true }), []);
    expect(subgraph.received).toHaveLength(2);
  });

  it('never shares across identities, variables, or calls that did not ask for it', async () => {
    const calls = [
      () => upstream.execute('held', query, other, { dedupe: true }),
      () => upstream.execute('held', { ...query, variables: { id: '2' } }, caller, { dedupe: true }),
      () => upstream.execute('held', query, caller),
      () => upstream.execute('held', query, caller, { dedupe: false }),
    ];
    const results = whileInFlight(() => upstream.execute('held', query, caller, { dedupe: true }), calls);
    await subgraph.arrived(5);
    subgraph.release();
    await results;
    expect(subgraph.received.map(({ headers }) => headers[IDENTITY_HEADER])).toEqual(['signed-identity', 'other-identity', 'signed-identity', 'signed-identity', 'signed-identity']);
  });

  it('gives every joined caller the failure of the shared fetch', async () => {
    const leader = upstream.execute('held', query, caller, { dedupe: true }).catch((error: unknown) => error);
    await subgraph.arrived(1);
    const follower = upstream.execute('held', query, caller, { dedupe: true }).catch((error: unknown) => error);
    subgraph.drop();
    for (const error of await Promise.all([leader, follower])) {
      expect(error).toMatchObject({ extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'held' } });
    }
    expect(subgraph.received).toHaveLength(1);
  });

  it('sends every call when SUBGRAPH_DEDUPLICATION is off', async () => {
    const off = upstreamFor(subgraph, { deduplicate: false });
    try {
      const results = whileInFlight(() => off.execute('held', query, caller, { dedupe: true }), [() => off.execute('held', query, caller, { dedupe: true })]);
      await subgraph.arrived(2);
      subgraph.release();
      await results;
      expect(subgraph.received).toHaveLength(2);
    } finally {
      await off.close();
    }
  });
});
