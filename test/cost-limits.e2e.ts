import { randomUUID } from 'node:crypto';

import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { startTestPlatform, type TestPlatform } from './kit.js';

/** An anonymous document of `count` aliased root fields, under the 64 KiB and 15,000-token document limits. */
const aliases = (count: number) => `{ ${Array.from({ length: count }, (_, i) => `a${i}: autonomyLevels { level }`).join(' ')} }`;

const fetchesOf = async (platform: TestPlatform, subgraph: string) => {
  const metrics = await (await fetch(platform.metricsUrls.gateway)).text();
  const line = metrics.split('\n').find((entry) => entry.startsWith('lotabots_subgraph_fetch_duration_seconds_count{') && entry.includes(`subgraph="${subgraph}"`));
  return Number(line?.split(' ').pop() ?? 0);
};

const codeOf = (body: { errors?: Array<{ extensions?: Record<string, unknown> }> }) => body.errors?.[0]?.extensions?.code;

describe('cost-based limits on the platform', () => {
  let platform: TestPlatform;
  /** A fresh signed-in caller: a bucket of its own. */
  const asNewUser = async () => ({ authorization: `Bearer ${await platform.tokenFor(randomUUID())}` });

  beforeAll(async () => {
    platform = await startTestPlatform({
      gatewayEnv: {
        // A small free plan that restores slowly, so an empty bucket stays empty during the test.
        COST_PLANS: JSON.stringify({ free: { maxOperationCost: 50 } }),
        RATE_LIMIT_PLANS: JSON.stringify({ free: { bucketSize: 60, restorePerSecond: 0.01, requestsPerWindow: 1_000, windowSeconds: 60 } }),
        MAX_OPERATION_DEPTH: '3',
        MAX_OPERATION_ROOT_FIELDS: '3',
        MAX_DIRECTIVES_PER_FIELD: '1',
      },
    });
  }, 120_000);
  afterAll(async () => {
    await platform?.stop();
  });

  it('exports the cost histograms under the lotabots_ metric namespace', async () => {
    await platform.query('{ autonomyLevels { level } }', undefined, await asNewUser());
    const metrics = await (await fetch(platform.metricsUrls.gateway)).text();
    expect(metrics).toMatch(/^lotabots_gateway_operation_cost_estimated_count\{[^}]*operation_type="query"[^}]*\} [1-9]/m);
    expect(metrics).toMatch(/^lotabots_gateway_operation_cost_actual_count\{[^}]*operation_type="query"[^}]*\} [1-9]/m);
  });

  it('puts extensions.cost and the cost headers on a response', async () => {
    const response = await fetch(platform.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(await asNewUser()) },
      body: JSON.stringify({ query: '{ autonomyLevels { level } }' }),
    });
    const body = await response.json();
    expect(body.data.autonomyLevels).toHaveLength(5);
    // @listSize(assumedSize: 5) × (object 1 + scalar 0); five came back.
    expect(body.extensions.cost).toEqual({
      requestedQueryCost: 5,
      actualQueryCost: 5,
      throttleStatus: { maximumAvailable: 60, currentlyAvailable: 55, restoreRate: 0.01 },
    });
    expect(response.headers.get('x-cost-estimate')).toBe('5');
    expect(response.headers.get('x-cost-actual')).toBe('5');
  });

  it('regression: the estimated cost minus the actual one is refunded when a list returns fewer items than assumed', async () => {
    const headers = await asNewUser();
    const { body } = await platform.query('{ me { inferenceJobs(first: 20) { id } } }', undefined, headers);
    expect(codeOf(body)).toBeUndefined();
    const cost = (body as { extensions?: { cost?: Record<string, any> } }).extensions?.cost;
    // me 1 + 20 × job 1 estimated; a new user has no jobs (or no profile): at most 1 spent, the rest given back.
    expect(cost?.requestedQueryCost).toBe(21);
    expect(cost?.actualQueryCost).toBeLessThanOrEqual(1);
    expect(cost?.throttleStatus.currentlyAvailable).toBeGreaterThanOrEqual(59);
  });

  it('answers rateLimit itself, free, alone or beside other fields', async () => {
    const headers = await asNewUser();
    const alone = await platform.query('{ rateLimit { limit cost left: remaining resetAt } }', undefined, headers);
    expect(alone.body).toMatchObject({
      data: { rateLimit: { limit: 60, cost: 0, left: 60, resetAt: expect.any(String) } },
      extensions: { cost: { requestedQueryCost: 0, actualQueryCost: 0 } },
    });
    const beside = await platform.query('{ autonomyLevels { level } budget: rateLimit { cost remaining } }', undefined, headers);
    expect(beside.body.data).toMatchObject({ autonomyLevels: expect.any(Array), budget: { cost: 5, remaining: 55 } });
  });

  it('regression: answers rateLimit inside a fragment or an inline fragment on the root (it answered null there)', async () => {
    const headers = await asNewUser();
    const named = await platform.query('query Status { ...Budget autonomyLevels { level } } fragment Budget on Query { rateLimit { cost remaining } }', undefined, headers);
    expect(named.body).toMatchObject({ data: { autonomyLevels: expect.any(Array), rateLimit: { cost: 5, remaining: 55 } } });
    expect(named.body.errors).toBeUndefined();
    const inline = await platform.query('{ ... on Query { rateLimit { limit remaining } } }', undefined, headers);
    expect(inline.body).toEqual({ data: { rateLimit: { limit: 60, remaining: 55 } }, extensions: { cost: expect.objectContaining({ requestedQueryCost: 0 }) } });
  });

  it('regression: each operation limit is refused with its own code before anything runs', async () => {
    const headers = await asNewUser();
    const cases: Array<[string, string]> = [
      ['{ me { inferenceJobs(first: 100) { id } } }', 'COST_LIMIT_EXCEEDED'],
      ['{ me { inferenceJobs { model { id } } } }', 'DEPTH_LIMIT_EXCEEDED'],
      ['{ models { id } plans { id } autonomyLevels { level } me { id } }', 'ROOT_FIELD_LIMIT_EXCEEDED'],
      ['{ models @skip(if: false) @include(if: true) { id } }', 'DIRECTIVE_LIMIT_EXCEEDED'],
      [aliases(31), 'ALIAS_LIMIT_EXCEEDED'],
    ];
    for (const [document, code] of cases) {
      const { body } = await platform.query(document, undefined, headers);
      expect({ document: document.slice(0, 60), code: codeOf(body), data: body.data }).toEqual({ document: document.slice(0, 60), code, data: undefined });
      expect((body as { extensions?: { cost?: unknown } }).extensions?.cost).toBeDefined();
    }
  });

  it('regression: a 2,000-alias anonymous document is refused with ALIAS_LIMIT_EXCEEDED and no subgraph is called, over HTTP and graphql-ws', async () => {
    const document = aliases(2_000);
    expect(Buffer.byteLength(document)).toBeLessThan(65_536);
    const before = await fetchesOf(platform, 'autonomy');

    const { body } = await platform.query(document);
    expect(codeOf(body)).toBe('ALIAS_LIMIT_EXCEEDED');

    const client = createClient({ url: platform.gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const result = await new Promise<unknown>((resolve) => {
        const results: unknown[] = [];
        client.subscribe({ query: document }, { next: (next) => void results.push(next), error: resolve, complete: () => resolve(results) });
      });
      expect(JSON.stringify(result)).toContain('ALIAS_LIMIT_EXCEEDED');
    } finally {
      await client.dispose();
    }
    expect(await fetchesOf(platform, 'autonomy')).toBe(before);
  });

  it('regression: an empty bucket answers RATE_LIMITED with HTTP 429 and Retry-After, and runs nothing', async () => {
    // Anonymous: the bucket of this client address. Each call spends exactly 5 (five levels come back).
    const query = () =>
      fetch(platform.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query: '{ autonomyLevels { level } }' }),
      });
    for (let i = 0; i < 12; i++) expect((await query()).status).toBe(200);
    const before = await fetchesOf(platform, 'autonomy');
    const refused = await query();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = await refused.json();
    expect(codeOf(body)).toBe('RATE_LIMITED');
    expect(body.errors[0].extensions.retryAfter).toBeGreaterThanOrEqual(1);
    expect(body.extensions.cost).toMatchObject({ requestedQueryCost: 5, actualQueryCost: null });
    expect(await fetchesOf(platform, 'autonomy')).toBe(before);
  });
});
