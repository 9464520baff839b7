import { describe, expect, it } from 'vitest';

import { bareEnv, runEntry } from './spawn.js';

/** Each process validates its configuration before touching anything. */
describe('configuration validated at start-up', () => {
  const cases: Array<{ entry: string; env?: Record<string, string>; args?: string[]; variable: string }> = [
    { entry: 'subgraphs/users/main.ts', env: { PORT: 'eighty' }, variable: 'PORT' },
    { entry: 'subgraphs/inference/main.ts', env: { DATABASE_URL: 'not a url' }, variable: 'DATABASE_URL' },
    { entry: 'subgraphs/usage/main.ts', env: { LOG_LEVEL: 'loud' }, variable: 'LOG_LEVEL' },
    { entry: 'subgraphs/autonomy/main.ts', env: { DATABASE_POOL_SIZE: '0' }, variable: 'DATABASE_POOL_SIZE' },
    { entry: 'gateway/main.ts', args: ['--port', '70000'], variable: 'PORT' },
    { entry: 'gateway/main.ts', env: { SUBGRAPH_URLS: 'users' }, variable: 'SUBGRAPH_URLS' },
    { entry: 'worker/main.ts', env: { WORKER_HEARTBEAT_MS: '-5' }, variable: 'WORKER_HEARTBEAT_MS' },
    { entry: 'embedded/main.ts', env: { REDIS_URL: 'localhost' }, variable: 'REDIS_URL' },
  ];

  it.each(cases)('$entry exits 2 with one line naming $variable', async ({ entry, env, args, variable }) => {
    const { code, stderr, stdout } = await runEntry(entry, { env: { ...bareEnv(), ...env }, args });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^invalid configuration: ${variable}: `));
  });

  const production = { NODE_ENV: 'production', IDENTITY_SIGNING_SECRET: 'x'.repeat(48) };
  const productionCases: Array<{ entry: string; env: Record<string, string>; variable: string }> = [
    { entry: 'subgraphs/inference/main.ts', env: { ...production, REDIS_URL: 'redis://127.0.0.1:6379' }, variable: 'DATABASE_URL' },
    { entry: 'subgraphs/users/main.ts', env: { ...production, DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' }, variable: 'REDIS_URL' },
    { entry: 'gateway/main.ts', env: production, variable: 'REDIS_URL' },
    { entry: 'worker/main.ts', env: production, variable: 'REDIS_URL' },
  ];

  it.each(productionCases)(
    'regression: $entry with NODE_ENV=production refuses to start without $variable instead of falling back to an embedded stand-in',
    async ({ entry, env, variable }) => {
      const { code, stderr } = await runEntry(entry, { env: { ...bareEnv(), ...env } });
      expect(code).toBe(2);
      expect(stderr.trim()).toBe(`invalid configuration: ${variable}: required when NODE_ENV=production (the embedded stand-in is for development only) (got unset)`);
    },
  );

  it("regression: a malformed DATABASE_URL's password is not printed", async () => {
    const { code, stderr } = await runEntry('subgraphs/usage/main.ts', {
      env: { ...bareEnv(), DATABASE_URL: 'postgres://lotabots:hunter2-s3cret@db.internal:notaport/db' },
    });
    expect(code).toBe(2);
    expect(stderr).not.toContain('hunter2-s3cret');
    expect(stderr.trim()).toMatch(/^invalid configuration: DATABASE_URL: .*\(got "postgres:\/\/lotabots:\*\*\*@db\.internal:notaport\/db"\)$/);
  });

  it('regression: credentials in a URL quoted by a validation message are not printed', async () => {
    const { code, stderr } = await runEntry('gateway/main.ts', {
      env: { ...bareEnv(), SUBGRAPH_URLS: 'users=http://gateway:hunter2-s3cret@users:notaport/graphql' },
    });
    expect(code).toBe(2);
    expect(stderr).not.toContain('hunter2-s3cret');
    expect(stderr.trim()).toMatch(/^invalid configuration: SUBGRAPH_URLS: .*http:\/\/gateway:\*\*\*@users:notaport/);
  });

  it('rejects an unknown gateway flag', async () => {
    const { code, stderr } = await runEntry('gateway/main.ts', { env: bareEnv(), args: ['--supergraf', 'x.graphql'] });
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('unknown flag --supergraf');
  });

  it('fails fast, without a stack trace, when the configured Redis is unreachable', async () => {
    const { code, stderr } = await runEntry('worker/main.ts', { env: { ...bareEnv(), REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^start-up failed: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    expect(stderr).not.toContain('    at ');
  });
});
