import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { postGraphQL } from './kit.js';
import { bareEnv, freeEmbeddedPorts, runEntry, type StartedEntry, startEmbeddedEntry } from './spawn.js';

type Result = { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

/** `npm start` reads every process's settings, not only its own table's (issue 14, item 8). */
describe('npm start and the settings of the processes it runs', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  let workdir: string;
  beforeAll(async () => {
    workdir = await mkdtemp(path.join(tmpdir(), 'lotabots-embedded-settings-'));
    cleanups.push(() => rm(workdir, { recursive: true, force: true }));
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  const start = async (settings: Record<string, string>): Promise<StartedEntry> => {
    const started = await startEmbeddedEntry('embedded/main.ts', {
      env: { ...bareEnv(), ...freeEmbeddedPorts(), EMBEDDED_DATA_DIR: 'memory://', ...settings },
      cwd: workdir,
    });
    cleanups.push(async () => void started.child.kill('SIGKILL'));
    return started;
  };
  const register = async (gatewayUrl: string, email: string) => {
    const { body } = await postGraphQL<{ register: { accessToken: string; accessTokenExpiresAt: string } }>(
      gatewayUrl,
      `mutation($email: String!) { register(input: { email: $email, password: "correct horse battery", displayName: "Settings" }) { accessToken accessTokenExpiresAt } }`,
      { email },
    );
    return body.data!.register;
  };

  it(
    'regression: npm start applies gateway and users settings (MAX_SUBSCRIPTIONS_PER_PRINCIPAL, ACCESS_TOKEN_TTL_SECONDS)',
    { timeout: 180_000 },
    async () => {
      const { gatewayUrl } = await start({ MAX_SUBSCRIPTIONS_PER_PRINCIPAL: '1', ACCESS_TOKEN_TTL_SECONDS: '120' });

      const before = Date.now();
      const { accessToken, accessTokenExpiresAt } = await register(gatewayUrl, 'settings@example.com');
      const lifetimeMs = Date.parse(accessTokenExpiresAt) - before;
      // 120 s (give or take the second it is rounded to), not the default 900 s.
      expect(lifetimeMs).toBeGreaterThan(60_000);
      expect(lifetimeMs).toBeLessThan(180_000);

      const client = createClient({
        url: gatewayUrl.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${accessToken}` },
        retryAttempts: 0,
      });
      cleanups.push(async () => client.dispose());
      const usage = 'subscription { usageLive { requests } }';
      const held = client.iterate({ query: usage }) as AsyncIterableIterator<Result>;
      const first = held.next();
      // Ask until the held subscription reports an event: then it is surely counted. Each ask is
      // a request by the same caller, which its usage stream reports once it is live.
      let event: IteratorResult<Result> | undefined;
      void first.then((result) => (event = result));
      while (!event) {
        await postGraphQL(gatewayUrl, '{ models { id } }', {}, { authorization: `Bearer ${accessToken}` });
        await Promise.race([first, new Promise((resolve) => setTimeout(resolve, 100))]);
      }
      expect(event.value.data?.usageLive.requests).toBeGreaterThan(0);

      const refused: Result[] = [];
      for await (const result of client.iterate({ query: usage }) as AsyncIterableIterator<Result>) refused.push(result);
      expect(refused[0]?.errors?.[0]?.extensions?.code).toBe('SUBSCRIPTION_LIMIT_EXCEEDED');
      await held.return!();
    },
  );

  it.each([
    { variable: 'OIDC_ISSUERS', value: 'notjson', of: 'the gateway' },
    { variable: 'LOGIN_LIMIT_PER_IP', value: 'many', of: 'the users subgraph' },
    { variable: 'WORKER_HEARTBEAT_MS', value: '0', of: 'the worker' },
    { variable: 'INFERENCE_MAX_TOKENS', value: '0', of: 'the inference subgraph' },
    { variable: 'DATABASE_POOL_SIZE', value: '0', of: 'every subgraph' },
  ])('regression: npm start refuses an invalid $variable (a setting of $of), exit 2 naming it', { timeout: 120_000 }, async ({ variable, value }) => {
    const { code, stderr } = await runEntry('embedded/main.ts', {
      env: { ...bareEnv(), ...freeEmbeddedPorts(), EMBEDDED_DATA_DIR: 'memory://', [variable]: value },
      cwd: workdir,
    });
    expect(code).toBe(2);
    expect(stderr.trim()).toMatch(new RegExp(`^invalid configuration: ${variable}: `));
  });
});
