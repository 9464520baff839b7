import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { postGraphQL } from './kit.js';
import { bareEnv, repoRoot, spawnEntry } from './spawn.js';

// `npm start` runs the TypeScript through tsx; production images run the compiled build.
describe.each([
  { how: 'npm start', entry: 'embedded/main.ts' },
  { how: 'the compiled build (npm run build)', entry: 'dist/embedded/main.js' },
])('$how with no environment', ({ entry }) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('starts the whole platform on embedded defaults, serves a query touching all four subgraphs, and stops cleanly', async () => {
    expect(existsSync(path.join(repoRoot, entry)), `${entry} is missing: \`npm test\` builds it (npm run build)`).toBe(true);
    const workdir = await mkdtemp(path.join(tmpdir(), 'lotabots-smoke-'));
    cleanups.push(() => rm(workdir, { recursive: true, force: true }));
    const child = spawnEntry(entry, { env: bareEnv(), cwd: workdir });
    cleanups.push(async () => void child.kill('SIGKILL'));
    let output = '';
    const gatewayUrl = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /Gateway: (http:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]!);
      });
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) => reject(new Error(`exited with ${code} before serving:\n${output}`)));
    });
    expect(gatewayUrl).toBe('http://127.0.0.1:4000/graphql');
    expect(output).toContain('embedded PGlite');

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
    expect(body).toEqual({
      data: { me: { email: 'smoke@example.com', plan: { id: 'free' }, usage: { requests: 0 }, autonomy: { level: 'ASSISTED' }, inferenceJobs: [] } },
    });

    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  });
});
