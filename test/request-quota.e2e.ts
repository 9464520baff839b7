import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { USAGE_EVENTS_STREAM } from '../lib/live/keys.js';
import { DEFAULT_MONTHLY_QUOTAS, requestCounterKey } from '../lib/plans/quotas.js';
import { type AdHocGateway, type AdHocSubgraph, startAdHocGateway, startAdHocSubgraph } from './gateway-kit.js';
import { waitUntil } from './own-redis.js';

/**
 * The monthly request quota counts a query alongside its execution (no Redis round trip
 * before it) and counts a mutation before it. Past a hard quota: the query's result is
 * replaced by QUOTA_EXCEEDED (HTTP 429) and it is not metered; the caller's next queries wait
 * for the count, so they no longer reach the subgraph; a mutation never runs. With
 * COST_LIMITS off the quota plugin counts every operation itself (on, the charge counts it
 * when it goes to Redis: `test/cost-limits-off.e2e.ts`).
 */

const sdl = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
  type Query {
    greeting: String
  }
  type Mutation {
    greet: String
  }
`;

const QUOTA = DEFAULT_MONTHLY_QUOTAS.free!.monthlyRequestQuota;

describe('the monthly request quota', () => {
  let subgraph: AdHocSubgraph;
  let gateway: AdHocGateway;
  const resolved = { greeting: 0, greet: 0 };

  beforeAll(async () => {
    subgraph = await startAdHocSubgraph('greetings', sdl, {
      Query: { greeting: () => (resolved.greeting++, 'hello') },
      Mutation: { greet: () => (resolved.greet++, 'hi') },
    });
    gateway = await startAdHocGateway([subgraph], { COST_LIMITS: 'off' });
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
    await subgraph?.close();
  });

  const send = async (userId: string, query: string) => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(await gateway.bearer([], { userId })) },
      body: JSON.stringify({ query }),
    });
    return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string; used?: number } }[] } };
  };
  /** The operation names of the caller's usage events, in the order they were recorded. */
  const usageEventsOf = async (userId: string) =>
    (await gateway.redis.xrange(USAGE_EVENTS_STREAM, '-', '+'))
      .filter(([, fields]) => fields[fields.indexOf('userId') + 1] === userId)
      .map(([, fields]) => fields[fields.indexOf('operationName') + 1]);

  it('replaces a query refused by the count with QUOTA_EXCEEDED, meters it not, and runs the caller\'s next queries only once admitted', async () => {
    const userId = randomUUID();
    const counter = requestCounterKey(userId, new Date());
    await gateway.redis.set(counter, QUOTA - 1);
    expect((await send(userId, 'query First { greeting }')).body).toEqual({ data: { greeting: 'hello' } });

    // Counted alongside its execution: it reached the subgraph, but its data does not leave.
    const ranBefore = resolved.greeting;
    const refused = await send(userId, 'query Refused { greeting }');
    expect(refused.status).toBe(429);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors?.map((error) => [error.extensions?.code, error.extensions?.used])).toEqual([['QUOTA_EXCEEDED', QUOTA]]);
    expect(resolved.greeting).toBe(ranBefore + 1);

    // Seen used up: the next query waits for the count and is refused before it runs.
    const again = await send(userId, 'query Refused { greeting }');
    expect(again.status).toBe(429);
    expect(resolved.greeting).toBe(ranBefore + 1);
    expect(await gateway.redis.get(counter)).toBe(String(QUOTA));

    // Room again (a new month, a raised limit): counted first, admitted, and run.
    await gateway.redis.set(counter, QUOTA - 1);
    expect((await send(userId, 'query Last { greeting }')).body).toEqual({ data: { greeting: 'hello' } });
    expect(resolved.greeting).toBe(ranBefore + 2);
    // Events are appended in the order of the responses: once Last's is in, any of Refused's would be too.
    await waitUntil(async () => (await usageEventsOf(userId)).includes('Last'), 'the last query to be metered');
    expect(await usageEventsOf(userId)).toEqual(['First', 'Last']);
  });

  it('counts a mutation before it runs: past a hard quota it never reaches the subgraph', async () => {
    const userId = randomUUID();
    await gateway.redis.set(requestCounterKey(userId, new Date()), QUOTA);
    const ranBefore = resolved.greet;
    const refused = await send(userId, 'mutation { greet }');
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.map((error) => error.extensions?.code)).toEqual(['QUOTA_EXCEEDED']);
    expect(resolved.greet).toBe(ranBefore);
  });
});
