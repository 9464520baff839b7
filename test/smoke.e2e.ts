import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { createClient } from 'graphql-ws';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { postGraphQL, withCost } from './kit.js';
import { bareEnv, freeEmbeddedPorts, repoRoot, startEmbeddedEntry } from './spawn.js';

// `npm start` runs the TypeScript through tsx; production images run the compiled build.
describe.each([
  { how: 'npm start', entry: 'embedded/main.ts' },
  { how: 'the compiled build (npm run build)', entry: 'dist/embedded/main.js' },
])('$how with no environment', ({ entry }) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  // Start-up is the slow part (seconds here, tens of seconds on a loaded machine), bounded generously.
  it('starts the whole platform on embedded defaults, serves a query touching all four subgraphs, streams generated text, and stops cleanly', { timeout: 180_000 }, async () => {
    expect(existsSync(path.join(repoRoot, entry)), `${entry} is missing: \`npm test\` builds it (npm run build)`).toBe(true);
    const workdir = await mkdtemp(path.join(tmpdir(), 'lotabots-smoke-'));
    cleanups.push(() => rm(workdir, { recursive: true, force: true }));
    // Only free ports set: a fixed 4000 would collide with anything else running here.
    const { child, gatewayUrl, output } = await startEmbeddedEntry(entry, { env: { ...bareEnv(), ...freeEmbeddedPorts() }, cwd: workdir });
    cleanups.push(async () => void child.kill('SIGKILL'));
    expect(gatewayUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
    expect(output()).toContain('embedded PGlite');

    const registered = await postGraphQL<{ register: { accessToken: string } }>(
      gatewayUrl,
      `mutation { register(input: { email: "smoke@example.com", password: "correct horse battery", displayName: "Smoke" }) { accessToken } }`,
    );
    const { status, body } = await postGraphQL(
      gatewayUrl,
      `{ me { email plan { id } usage { requests } autonomy { level } inferenceJobs { id } } }`,
      {},
      { authorization: `Bearer ${registered.body.data!.register.accessToken}` },
    );
    expect(status).toBe(200);
    expect(body).toEqual(
      withCost({
        data: { me: { email: 'smoke@example.com', plan: { id: 'free' }, usage: { requests: 0 }, autonomy: { level: 'ASSISTED' }, inferenceJobs: [] } },
      }),
    );

    // The built-in CPU model through the whole path (PGlite job row, the in-memory bus, the worker), in one operation;
    // stop sequences that never occur, so the row's array column goes through PGlite too.
    const client = createClient({
      url: gatewayUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${registered.body.data!.register.accessToken}` },
      retryAttempts: 0,
    });
    cleanups.push(async () => await client.dispose());
    const run = `subscription { runInference(input: { model: "lotabots-tiny-cpu", prompt: "Tell me about robots", maxTokens: 8, seed: 7, stop: ["zzzz", "qqqq"] }) {
      __typename ... on InferenceTokenEvent { text } ... on InferenceCompletedEvent { completionTokens } } }`;
    const events: Array<{ __typename: string; text?: string; completionTokens?: number }> = [];
    for await (const result of client.iterate({ query: run })) {
      expect(result.errors).toBeUndefined();
      events.push((result.data as { runInference: (typeof events)[number] }).runInference);
    }
    const tokens = events.filter((event) => event.__typename === 'InferenceTokenEvent');
    expect(events.map((event) => event.__typename)).toEqual(['InferenceQueuedEvent', 'InferenceStartedEvent', ...tokens.map(() => 'InferenceTokenEvent'), 'InferenceCompletedEvent']);
    expect(tokens).toHaveLength(8);
    expect(tokens.map((token) => token.text).join('').trim()).not.toBe('');
    expect(events.at(-1)).toMatchObject({ completionTokens: 8 });

    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  });
});
