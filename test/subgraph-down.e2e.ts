import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestPlatform, type TestPlatform } from './kit.js';

describe('a subgraph that is down', () => {
  let platform: TestPlatform;
  let userId: string;
  let asUser: Record<string, string>;

  beforeAll(async () => {
    platform = await startTestPlatform();
    const registered = await platform.query<{ register: { user: { id: string } } }>(
      `mutation { register(input: { email: "grace@example.com", password: "correct horse battery", displayName: "Grace" }) { user { id } } }`,
    );
    userId = registered.body.data!.register.user.id;
    asUser = { authorization: `Bearer ${await platform.tokenFor(userId)}` };
    await platform.stopSubgraph('usage');
  });

  afterAll(() => platform?.stop());

  it('yields partial data and an error naming it, with HTTP 200 and no crash', async () => {
    const { status, body } = await platform.query(`{ me { id email usage { requests } autonomy { level } } }`, undefined, asUser);
    expect(status).toBe(200);
    expect(body.data).toEqual({ me: { id: userId, email: 'grace@example.com', usage: null, autonomy: { level: 'ASSISTED' } } });
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'usage' });
    expect(body.errors![0]!.message).toBe('Subgraph "usage" is unavailable');
  });

  it('gives null and the same error for a root field the subgraph owns', async () => {
    const { status, body } = await platform.query('{ plans { id } models { id } }');
    expect(status).toBe(200);
    expect(body.data).toEqual({ plans: null, models: [{ id: 'lotabots-tiny-cpu' }] });
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'usage' });
  });

  it('reports the subgraph down on /health/subgraphs while the gateway stays alive (/health) and ready', async () => {
    const base = platform.gatewayUrl.replace(/\/graphql$/, '');
    const subgraphs = await fetch(`${base}/health/subgraphs`);
    expect(subgraphs.status).toBe(200);
    expect(await subgraphs.json()).toEqual({ status: 'degraded', subgraphs: { users: 'up', inference: 'up', usage: 'down', autonomy: 'up' } });
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect((await fetch(`${base}/ready`)).status).toBe(200);
  });
});
