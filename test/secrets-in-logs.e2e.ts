import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { deleteKeysWithPrefix } from '../lib/redis.js';
import { testEnv } from './env.js';
import { createTestDatabase, postGraphQL, type TestDatabase } from './kit.js';
import { bareEnv, spawnEntry } from './spawn.js';

/**
 * Runs the platform as a process at LOG_LEVEL=trace through every credential flow and reads
 * everything it printed: no password, token, key or hash may appear.
 */
describe('secrets stay out of logs and errors', () => {
  let database: TestDatabase;
  let workdir: string;
  let output = '';
  let child: ReturnType<typeof spawnEntry>;
  let gatewayUrl: string;
  const redisKeyPrefix = `lotabots_test:logs${process.pid}:`;

  beforeAll(async () => {
    database = await createTestDatabase();
    workdir = await mkdtemp(path.join(tmpdir(), 'lotabots-logs-'));
    const ports = { GATEWAY_PORT: '0', USERS_PORT: '0', INFERENCE_PORT: '0', USAGE_PORT: '0', AUTONOMY_PORT: '0', WORKER_PORT: '0', METRICS_PORT: '0' };
    child = spawnEntry('embedded/main.ts', {
      cwd: workdir,
      env: { ...bareEnv(), ...ports, LOG_LEVEL: 'trace', DATABASE_URL: database.url, REDIS_URL: testEnv.redisUrl, REDIS_KEY_PREFIX: redisKeyPrefix },
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    gatewayUrl = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /Gateway: (http:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
    });
  });
  afterAll(async () => {
    child?.kill('SIGTERM');
    await new Promise((resolve) => (child?.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    await database?.drop();
    await deleteKeysWithPrefix(testEnv.redisUrl, redisKeyPrefix);
    await rm(workdir, { recursive: true, force: true });
  });

  it('prints none of the credentials used in register, login, refresh, API keys and password reset', async () => {
    const password = 'Sup3r secret passphrase';
    const secrets: string[] = [password];
    const gql = (query: string, variables?: Record<string, unknown>, headers?: Record<string, string>) =>
      postGraphQL<Record<string, any>>(gatewayUrl, query, variables, headers);
    const errorBodies: string[] = [];
    const record = (response: { body: unknown }) => {
      errorBodies.push(JSON.stringify(response.body));
      return response.body as { data?: Record<string, any> };
    };

    const registered = record(
      await gql('mutation($p: String!) { register(input: { email: "logs@example.com", password: $p, displayName: "Logs" }) { accessToken refreshToken } }', { p: password }),
    ).data!.register;
    secrets.push(registered.accessToken, registered.refreshToken);
    record(await gql('mutation($p: String!) { login(input: { email: "logs@example.com", password: $p }) { accessToken } }', { p: 'wrong guess 12345' }));
    record(await gql('mutation($p: String!) { login(input: { email: "nobody@example.com", password: $p }) { accessToken } }', { p: password }));
    const refreshed = record(await gql('mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }', { t: registered.refreshToken })).data!.refreshToken;
    secrets.push(refreshed.accessToken, refreshed.refreshToken);
    record(await gql('mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }', { t: registered.refreshToken }));
    const bearer = { authorization: `Bearer ${refreshed.accessToken}` };
    record(await gql('{ me { id } }', undefined, bearer));
    const login = record(await gql('mutation($p: String!) { login(input: { email: "logs@example.com", password: $p }) { accessToken } }', { p: password })).data!.login;
    secrets.push(login.accessToken);
    const created = record(await gql('mutation { createApiKey(input: { name: "logs" }) { key } }', undefined, { authorization: `Bearer ${login.accessToken}` })).data!.createApiKey;
    secrets.push(created.key, createHash('sha256').update(created.key).digest('hex'));
    record(await gql('{ me { id } }', undefined, { 'x-api-key': created.key }));
    record(await gql('{ me { id } }', undefined, { 'x-api-key': `${created.key.slice(0, -4)}AAAA` }));
    record(await gql('{ me { id } }', undefined, { authorization: `Bearer ${login.accessToken}x` }));
    record(await gql('mutation { requestPasswordReset(email: "logs@example.com") }'));
    record(await gql('mutation($p: String!) { resetPassword(input: { token: "not-a-real-token", newPassword: $p }) }', { p: 'another secret phrase' }));
    secrets.push('another secret phrase');

    // Stop the platform, so every line it logged has been written before it is read.
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    expect(output).toContain('"level":');
    const failures = errorBodies.filter((body) => body.includes('"errors"'));
    expect(failures.length).toBeGreaterThanOrEqual(6);
    for (const secret of secrets) {
      expect(output.includes(secret), 'a secret appeared in the logs').toBe(false);
      expect(failures.some((body) => body.includes(secret)), 'a secret appeared in an error').toBe(false);
    }
    for (const body of failures) expect(body).not.toContain('    at ');
  });
});
