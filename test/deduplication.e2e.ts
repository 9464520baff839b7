import { randomBytes } from 'node:crypto';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createIdentitySigner } from '../lib/auth/identity-header.js';
import { type AdHocGateway, type AdHocSubgraph, startAdHocGateway, startAdHocSubgraph } from './gateway-kit.js';
import { within } from './within.js';

type Result = { data?: Record<string, unknown>; errors?: unknown[]; extensions?: Record<string, unknown> };

/** Resolver calls held until `release()`, so requests are provably in flight together. */
function createGate() {
  let calls = 0;
  let opened: () => void = () => {};
  let open = new Promise<void>((resolve) => (opened = resolve));
  const waiting: (() => void)[] = [];
  return {
    calls: () => calls,
    async pass() {
      calls++;
      for (const wake of waiting.splice(0)) wake();
      await open;
    },
    async arrived(count: number) {
      while (calls < count) await new Promise<void>((resolve) => waiting.push(resolve));
    },
    release() {
      opened();
      open = new Promise<void>((resolve) => (opened = resolve));
    },
    reset() {
      calls = 0;
    },
  };
}

const gate = createGate();
const typeDefs = `
  type Query { reading(tag: String!): Reading }
  type Reading { tag: String! reads: Int! }
  type Mutation { bump(tag: String!): Int! }
`;
const resolvers = {
  Query: { reading: async (_: unknown, { tag }: { tag: string }) => (await gate.pass(), { tag, reads: gate.calls() }) },
  Mutation: { bump: async () => (await gate.pass(), gate.calls()) },
};

const QUERY = 'query Reading { reading(tag: "a") { tag reads } }';
const MUTATION = 'mutation Bump { bump(tag: "a") }';

async function post(gateway: AdHocGateway, query: string, headers: Record<string, string> = {}) {
  const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
  const bytes = Buffer.from(await response.arrayBuffer());
  return { requestId: response.headers.get('x-request-id'), contentLength: response.headers.get('content-length'), bytes, body: JSON.parse(bytes.toString()) as Result };
}

/** The value of a counter on the gateway's registry, summed over its labels. */
async function counter(gateway: AdHocGateway, name: string): Promise<number> {
  const metric = gateway.gateway.registry.getSingleMetric(name);
  return metric ? (await metric.get()).values.reduce((sum, { value }) => sum + value, 0) : 0;
}

/** Resolves once the counter has reached `value`: the gateway has seen the requests join. */
async function counterReaches(gateway: AdHocGateway, name: string, value: number) {
  await within(
    (async () => {
      while ((await counter(gateway, name)) < value) await new Promise((resolve) => setTimeout(resolve, 20));
    })(),
    20_000,
    `${name} reaching ${value}`,
  );
}

// A signer whose clock stands still signs one principal's header identically every time (iat
// in seconds would otherwise differ across a second boundary, and headers are part of the key).
const steadySigner = () => {
  const now = new Date();
  return createIdentitySigner(randomBytes(32), () => now);
};

describe('subgraph de-duplication through the engine (SUBGRAPH_DEDUPLICATION, on by default)', () => {
  let subgraph: AdHocSubgraph;
  let gateway: AdHocGateway;

  beforeAll(async () => {
    subgraph = await startAdHocSubgraph('readings', typeDefs, resolvers);
    gateway = await startAdHocGateway([subgraph], {}, { identity: steadySigner() });
  });
  afterEach(() => {
    gate.release();
    gate.reset();
  });
  afterAll(async () => {
    await gateway?.close();
    await subgraph?.close();
  });

  it('sends identical concurrent queries of one principal to the subgraph once, each client still getting its own response', async () => {
    const first = post(gateway, QUERY);
    await gate.arrived(1);
    const second = post(gateway, QUERY);
    await counterReaches(gateway, 'lotabots_subgraph_fetches_shared_total', 1);
    gate.release();
    const responses = await Promise.all([first, second]);
    expect(gate.calls()).toBe(1);
    for (const { body } of responses) expect(body).toMatchObject({ data: { reading: { tag: 'a', reads: 1 } } });
    expect(new Set(responses.map(({ requestId }) => requestId)).size).toBe(2);
  });

  it('never shares a mutation', async () => {
    const both = Promise.all([post(gateway, MUTATION), post(gateway, MUTATION)]);
    await gate.arrived(2);
    gate.release();
    for (const { body } of await both) expect(body).toMatchObject({ data: { bump: 2 } });
    expect(gate.calls()).toBe(2);
  });
});

describe('inbound de-duplication (INBOUND_DEDUPLICATION)', () => {
  let subgraph: AdHocSubgraph;
  let gateway: AdHocGateway;
  let off: AdHocGateway;
  const SHARED = 'lotabots_inbound_requests_shared_total';

  beforeAll(async () => {
    subgraph = await startAdHocSubgraph('readings', typeDefs, resolvers);
    // Subgraph de-duplication off, so only the inbound kind can explain a single subgraph call.
    gateway = await startAdHocGateway([subgraph], { INBOUND_DEDUPLICATION: 'true', SUBGRAPH_DEDUPLICATION: 'false' });
    off = await startAdHocGateway([subgraph], { SUBGRAPH_DEDUPLICATION: 'false' });
  });
  afterEach(() => {
    gate.release();
    gate.reset();
  });
  afterAll(async () => {
    await gateway?.close();
    await off?.close();
    await subgraph?.close();
  });

  it('executes identical concurrent queries of one principal once; each request keeps its own id and cost', async () => {
    const first = post(gateway, QUERY);
    await gate.arrived(1);
    const others = [post(gateway, QUERY), post(gateway, QUERY)];
    await counterReaches(gateway, SHARED, 2);
    gate.release();
    const responses = await Promise.all([first, ...others]);
    expect(gate.calls()).toBe(1);
    expect(new Set(responses.map(({ requestId }) => requestId)).size).toBe(3);
    for (const { body, bytes, contentLength } of responses) {
      expect(body.data).toEqual({ reading: { tag: 'a', reads: 1 } });
      expect(body.extensions?.cost).toMatchObject({ requestedQueryCost: expect.any(Number), actualQueryCost: expect.any(Number) });
      // The shared data's bytes and each request's own envelope, assembled as one JSON text.
      expect(bytes.toString()).toBe(JSON.stringify(body));
      expect(contentLength).toBe(String(bytes.length));
    }
  });

  it('never shares between principals, nor a mutation', async () => {
    const [alice, bob] = await Promise.all([gateway.bearer(), gateway.bearer()]);
    const queries = Promise.all([post(gateway, QUERY, alice), post(gateway, QUERY, bob)]);
    await gate.arrived(2);
    gate.release();
    await queries;
    gate.reset();
    const mutations = Promise.all([post(gateway, MUTATION), post(gateway, MUTATION)]);
    await gate.arrived(2);
    gate.release();
    for (const { body } of await mutations) expect(body).toMatchObject({ data: { bump: 2 } });
    expect(await counter(gateway, SHARED)).toBe(2);
  });

  it('is off by default: identical concurrent queries each execute', async () => {
    const both = Promise.all([post(off, QUERY), post(off, QUERY)]);
    await gate.arrived(2);
    gate.release();
    for (const { body } of await both) expect(body).toMatchObject({ data: { reading: { tag: 'a', reads: 2 } } });
    expect(off.gateway.registry.getSingleMetric(SHARED)).toBeUndefined();
  });
});
