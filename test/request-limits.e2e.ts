import { createClient } from 'graphql-ws';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { createIdentitySigner, IDENTITY_HEADER } from '../lib/auth/identity-header.js';
import { anonymousPrincipal } from '../lib/auth/principal.js';
import { CLIENT_DOCUMENT_LIMITS, SUBGRAPH_DOCUMENT_LIMITS } from '../lib/graphql-limits.js';
import { DEFAULT_METRICS_MAX_OPERATION_NAMES } from '../lib/metrics.js';
import { type AdHocGateway, type AdHocSubgraph, startAdHocGateway, startAdHocSubgraph } from './gateway-kit.js';
import { type GraphQLResponse, postGraphQL, startTestPlatform, type TestPlatform, withCost } from './kit.js';

/** `{a{a{…}}}`, `levels` selection sets deep. */
const nestedSelection = (levels: number) => `${'{a'.repeat(levels)}${'}'.repeat(levels)}`;
/** `{ hello(a: [[…]]) }`, a list literal `levels` deep. */
const nestedList = (levels: number) => `{ hello(a: ${'['.repeat(levels)}${']'.repeat(levels)}) }`;
/** An anonymous document of `count` aliased root fields (20,000 of them: ~650 KB). */
const aliases = (count: number) => `{ ${Array.from({ length: count }, (_, i) => `a${i}: autonomyLevels { level }`).join(' ')} }`;
/** A document under the size limit with more tokens than allowed: one list of numbers. */
const manyTokens = (tokens: number) => `{ hello(a: [${'1 '.repeat(tokens)}]) }`;

const metricsOf = async (metricsUrl: string) => (await fetch(metricsUrl)).text();
/** Series of one metric in a `/metrics` text: its lines `name{…} value`. */
const seriesOf = (metrics: string, name: string) => metrics.split('\n').filter((line) => line.startsWith(`${name}{`));
/** The value of one series, 0 when absent. */
const valueOf = (metrics: string, name: string, labels: RegExp) =>
  Number(seriesOf(metrics, name).find((line) => labels.test(line))?.split(' ').pop() ?? 0);

/** Runs `count` tasks, at most `concurrency` at a time. */
async function inBatches(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await task(next++);
  }));
}

function expectRefused(response: GraphQLResponse<unknown>, message: RegExp) {
  expect(response.status).toBe(400);
  expect(response.body.data).toBeUndefined();
  expect(response.body.errors).toHaveLength(1);
  expect(response.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  expect(response.body.errors?.[0]?.message).toMatch(message);
}

describe('request limits and bounded metric labels on the platform', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform();
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('regression: 5,000 invented operation names leave the metric series flat on the gateway and on the subgraph', async () => {
    const failures: unknown[] = [];
    await inBatches(5_000, 16, async (i) => {
      const { status, body } = await platform.query(`query Invented${i} { autonomyLevels { level } }`);
      if (status !== 200 || body.errors) failures.push(body.errors ?? status);
    });
    expect(failures).toEqual([]);

    const bound = DEFAULT_METRICS_MAX_OPERATION_NAMES + 5;
    for (const url of [platform.metricsUrls.gateway, platform.metricsUrls.autonomy]) {
      const metrics = await metricsOf(url);
      const requests = seriesOf(metrics, 'lotabots_graphql_requests_total');
      expect(requests.length).toBeGreaterThan(DEFAULT_METRICS_MAX_OPERATION_NAMES / 2);
      expect(requests.length).toBeLessThanOrEqual(bound);
      // Every one of the 5,000 is still counted, the later ones as `unknown`.
      expect(valueOf(metrics, 'lotabots_graphql_requests_total', /operationName="unknown"/)).toBeGreaterThanOrEqual(5_000 - bound);
      expect(seriesOf(metrics, 'lotabots_graphql_request_duration_seconds_count').length).toBeLessThanOrEqual(bound);
      expect(seriesOf(metrics, 'lotabots_graphql_parse_duration_seconds_count').length).toBeLessThanOrEqual(bound);
      expect(seriesOf(metrics, 'lotabots_http_request_duration_seconds_count').length).toBeLessThanOrEqual(bound);
    }
  }, 300_000);

  it('regression: a 20,000-alias 650 KB anonymous document is refused with 400 GRAPHQL_PARSE_FAILED and never reaches a subgraph', async () => {
    const document = aliases(20_000);
    expect(document.length).toBeGreaterThan(600_000);
    const fetchesBefore = valueOf(await metricsOf(platform.metricsUrls.gateway), 'lotabots_subgraph_fetch_duration_seconds_count', /subgraph="autonomy"/);

    expectRefused(await platform.query(document), /larger than 65536 bytes/);

    const fetchesAfter = valueOf(await metricsOf(platform.metricsUrls.gateway), 'lotabots_subgraph_fetch_duration_seconds_count', /subgraph="autonomy"/);
    expect(fetchesAfter).toBe(fetchesBefore);
  });

  it('regression: a document with more tokens than allowed is refused with 400 GRAPHQL_PARSE_FAILED', async () => {
    const document = manyTokens(CLIENT_DOCUMENT_LIMITS.maxTokens);
    expect(Buffer.byteLength(document)).toBeLessThan(CLIENT_DOCUMENT_LIMITS.maxBytes);
    expectRefused(await platform.query(document), /more than 15000 tokens/);
  });

  it('regression: 10,000 levels of selection sets or of a list literal answer 400 GRAPHQL_PARSE_FAILED, not a stack overflow', async () => {
    expectRefused(await platform.query(nestedSelection(10_000)), /nests deeper than 100 levels/);
    expectRefused(await platform.query(nestedList(10_000)), /nests deeper than 100 levels/);
    // At the limit a document still parses (and then fails validation, as this one should).
    const atLimit = await platform.query(nestedSelection(CLIENT_DOCUMENT_LIMITS.maxDepth));
    expect(atLimit.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('regression: a subgraph refuses deep and oversized documents with 400, and parses nothing for a caller without the identity header', async () => {
    const identity = await createIdentitySigner(platform.secrets.identitySecret).sign(anonymousPrincipal('127.0.0.1'));
    // The spec's media type: for a legacy `application/json` caller (the gateway) a parse error is a 200.
    const post = (document: string, headers: Record<string, string> = { [IDENTITY_HEADER]: identity }) =>
      postGraphQL(platform.subgraphUrls.usage, document, undefined, { accept: 'application/graphql-response+json', ...headers });
    expectRefused(await post(nestedSelection(10_000)), /nests deeper than 200 levels/);
    expectRefused(await post(nestedList(10_000)), /nests deeper than 200 levels/);
    expectRefused(await post(aliases(20_000)), /larger than 262144 bytes/);
    expectRefused(await post(manyTokens(SUBGRAPH_DOCUMENT_LIMITS.maxTokens)), /more than 60000 tokens/);
    // Without the gateway's identity the document is never looked at.
    const outsider = await post(nestedSelection(10_000), {});
    expect(outsider.status).toBe(401);
    expect(outsider.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('request limits on every transport, without error logs', () => {
  let subgraph: AdHocSubgraph;
  let gateway: AdHocGateway;
  const logLines: Array<{ level: number; msg?: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
  const clients: Array<{ dispose(): unknown }> = [];

  beforeAll(async () => {
    subgraph = await startAdHocSubgraph('greetings', 'type Query { hello(a: [[Int]]): String }', { Query: { hello: () => 'hi' } });
    gateway = await startAdHocGateway([subgraph], {}, { logger });
  });
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await gateway?.close();
    await subgraph?.close();
  });

  const errorLogLines = () => logLines.filter((line) => line.level >= 50);

  it('regression: deep documents over HTTP are refused with 400 and write no error log line', async () => {
    expectRefused(await postGraphQL(gateway.url, nestedSelection(10_000)), /nests deeper/);
    expectRefused(await postGraphQL(gateway.url, nestedList(10_000)), /nests deeper/);
    expectRefused(await postGraphQL(gateway.url, nestedList(2_000)), /nests deeper/);
    expect(subgraph.received).toEqual([]);
    expect(errorLogLines()).toEqual([]);
  });

  it('regression: over SSE a deep subscription document is refused with 400 GRAPHQL_PARSE_FAILED', async () => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: `subscription ${nestedSelection(10_000)}` }),
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('GRAPHQL_PARSE_FAILED');
    expect(errorLogLines()).toEqual([]);
  });

  it('regression: over graphql-ws a deep or oversized document gets an error message and the socket keeps serving', async () => {
    const client = createClient({ url: gateway.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    clients.push(client);
    const run = (query: string) =>
      new Promise<{ results: unknown[]; error?: unknown }>((resolve) => {
        const results: unknown[] = [];
        client.subscribe({ query }, { next: (result) => void results.push(result), error: (error) => resolve({ results, error }), complete: () => resolve({ results }) });
      });

    for (const document of [nestedSelection(10_000), nestedList(10_000), aliases(20_000)]) {
      const { error } = await run(document);
      expect(error).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'GRAPHQL_PARSE_FAILED' }) })]);
    }
    expect(await run('{ hello }')).toEqual({ results: [withCost({ data: { hello: 'hi' } })] });
    expect(errorLogLines()).toEqual([]);
  });
});
