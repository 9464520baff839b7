import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestPlatform, type TestPlatform, withCost } from './kit.js';

const USER_ACROSS_SUBGRAPHS = /* GraphQL */ `
  query UserAcrossSubgraphs {
    me {
      id
      email
      displayName
      plan { id monthlyTokenQuota }
      usage { requests tokensIn tokensOut }
      autonomy(context: "code-review") { level context }
      inferenceJobs(first: 5) { prompt status tokensOut model { id } user { email } }
    }
  }
`;

describe('the gateway over the four subgraphs', () => {
  let platform: TestPlatform;
  let userId: string;
  let asUser: Record<string, string>;
  let asAdmin: Record<string, string>;

  beforeAll(async () => {
    platform = await startTestPlatform();
    const registered = await platform.query<{ register: { user: { id: string } } }>(
      `mutation { register(input: { email: "ada@example.com", password: "correct horse battery", displayName: "Ada" }) { user { id } } }`,
    );
    expect(registered.body.errors).toBeUndefined();
    userId = registered.body.data!.register.user.id;
    asUser = { authorization: `Bearer ${await platform.tokenFor(userId)}` };
    asAdmin = { authorization: `Bearer ${await platform.tokenFor(userId, { roles: ['admin'] })}` };
    // Rows the other subgraphs own, written straight to their own tables.
    await platform.db.query(`INSERT INTO usage."Account" ("userId", "planId", "updatedAt") VALUES ($1, 'pro', now())`, [userId]);
    await platform.db.query(
      // The first hour of this month (UTC): metering writes the current hour, never this one.
      `INSERT INTO usage."UsageHourly" ("userId", hour, requests, "tokensIn", "tokensOut") VALUES ($1, date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 7, 120, 340)`,
      [userId],
    );
    await platform.db.query(
      `INSERT INTO autonomy."AutonomySetting" ("userId", context, level, "updatedAt") VALUES ($1, 'code-review', 'EXPERT', now()), ($1, '', 'ASSISTED', now())`,
      [userId],
    );
    await platform.db.query(
      `INSERT INTO inference."InferenceJob" (id, "userId", "modelId", prompt, "maxTokens", status, "autonomyLevel", "tokensOut")
       VALUES (gen_random_uuid(), $1, 'lotabots-tiny-cpu', 'Say hi', 16, 'SUCCEEDED', 'EXPERT', 2)`,
      [userId],
    );
  });

  afterAll(() => platform?.stop());

  it('answers one query for one user with data from users, usage, autonomy and inference', async () => {
    const { status, body } = await platform.query(USER_ACROSS_SUBGRAPHS, undefined, asUser);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({
      me: {
        id: userId,
        email: 'ada@example.com',
        displayName: 'Ada',
        plan: { id: 'pro', monthlyTokenQuota: 5_000_000 },
        usage: { requests: 7, tokensIn: 120, tokensOut: 340 },
        autonomy: { level: 'EXPERT', context: 'code-review' },
        inferenceJobs: [
          { prompt: 'Say hi', status: 'SUCCEEDED', tokensOut: 2, model: { id: 'lotabots-tiny-cpu' }, user: { email: 'ada@example.com' } },
        ],
      },
    });
  });

  it('falls back to the default autonomy level for a context without a setting', async () => {
    const { body } = await platform.query(`{ me { autonomy(context: "email") { level context } } }`, undefined, asUser);
    expect(body.data).toEqual({ me: { autonomy: { level: 'ASSISTED', context: null } } });
  });

  it('rejects malformed GraphQL with GRAPHQL_PARSE_FAILED and HTTP 400', async () => {
    const { status, body } = await platform.query('{ user(id: ');
    expect(status).toBe(400);
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('rejects unknown fields with GRAPHQL_VALIDATION_FAILED and HTTP 400', async () => {
    const { status, body } = await platform.query('{ models { id weightsOnDisk } }');
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(body.errors?.[0]?.message).toContain('weightsOnDisk');
  });

  it('rejects bad arguments with BAD_USER_INPUT, not a server error', async () => {
    // first: 0 is priced (cost 1) and refused by the subgraph; a huge `first` is now refused by the gateway's cost ceiling first.
    const { status, body } = await platform.query(`{ me { inferenceJobs(first: 0) { id } } }`, undefined, asUser);
    expect(status).toBe(200);
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.extensions?.serviceName).toBe('inference');
  });

  it('answers an unknown or malformed id with null, not an error', async () => {
    const { body } = await platform.query(
      `{ a: user(id: "00000000-0000-4000-8000-000000000000") { id } b: user(id: "x'; drop") { id } }`,
      undefined,
      asAdmin,
    );
    expect(body).toEqual(withCost({ data: { a: null, b: null } }));
  });

  it('rejects a duplicate registration with CONFLICT and keeps the first account', async () => {
    const { body } = await platform.query(
      `mutation { register(input: { email: "ADA@example.com", password: "another long password", displayName: "Imposter" }) { user { id } } }`,
    );
    expect(body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const [row] = await platform.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users."User"`);
    expect(row!.n).toBe(1);
  });

  it('reports every subgraph up on /health/subgraphs and the supergraph loaded on /ready', async () => {
    const base = platform.gatewayUrl.replace(/\/graphql$/, '');
    const health = await fetch(`${base}/health/subgraphs`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', subgraphs: { users: 'up', inference: 'up', usage: 'up', autonomy: 'up' } });
    expect((await fetch(`${base}/ready`)).status).toBe(200);
  });

  it('exports Prometheus metrics of the gateway and each subgraph on the metrics port', async () => {
    const gatewayMetrics = await (await fetch(platform.metricsUrls.gateway)).text();
    expect(gatewayMetrics).toMatch(/lotabots_graphql_requests_total\{[^}]*service="gateway"/);
    expect(gatewayMetrics).toMatch(/lotabots_subgraph_fetch_duration_seconds_count\{[^}]*subgraph="usage"[^}]*outcome="ok"/);
    for (const [name, url] of Object.entries(platform.subgraphUrls)) {
      const response = await fetch(platform.metricsUrls[name as keyof typeof platform.subgraphUrls]);
      expect(response.status).toBe(200);
      expect(await response.text()).toMatch(new RegExp(`lotabots_graphql_requests_total\\{[^}]*service="${name}"`));
      expect((await fetch(url.replace(/graphql$/, 'ready'))).status).toBe(200);
    }
  });

  it('regression: /metrics is not served on the public GraphQL ports', async () => {
    for (const url of [platform.gatewayUrl, ...Object.values(platform.subgraphUrls)]) {
      expect((await fetch(url.replace(/graphql$/, 'metrics'))).status, url).toBe(404);
    }
  });
});
