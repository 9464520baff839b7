import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startPlatform } from '../embedded/platform.js';
import { openDatabase } from '../lib/db/connection.js';
import { applyMigrations } from '../lib/db/migrations.js';
import { migrationSetOf, TABLE_OWNERS } from '../lib/db/owners.js';
import { testEnv } from './env.js';
import { createTestDatabase, postGraphQL, type TestDatabase, testSecrets } from './kit.js';
import { bareEnv, freeEmbeddedPorts, runEntry, startEmbeddedEntry } from './spawn.js';
import { LOGIN } from './users-operations.js';

/**
 * Operators (issue 18, item 6): `npm run admin -- create` makes an admin account in a real
 * PostgreSQL without editing it by hand, and `npm start` on embedded defaults prints a
 * development admin to sign in with; either account opens /dashboard (metrics:read).
 */

const ADMIN_CLI = 'scripts/admin.ts';
const PASSWORD = 'operator password 2026';

describe('admin accounts', () => {
  let database: TestDatabase;
  const env = () => ({ ...bareEnv(), DATABASE_URL: database.url, LOG_LEVEL: 'silent' });

  beforeAll(async () => {
    database = await createTestDatabase();
    const db = await openDatabase({ url: database.url, embeddedDataDir: 'memory://', poolSize: 1 });
    try {
      for (const owner of TABLE_OWNERS) await applyMigrations(db, migrationSetOf(owner));
    } finally {
      await db.close();
    }
  }, 120_000);
  afterAll(async () => {
    await database?.drop();
  });

  it('npm run admin -- create makes an admin who signs in with metrics:read; bad input and taken emails are refused', async () => {
    const created = await runEntry(ADMIN_CLI, { env: env(), args: ['create', '--email', ' Ops@Example.com ', '--password-stdin'], input: `${PASSWORD}\n` });
    expect(created, created.stderr).toMatchObject({ code: 0, stdout: expect.stringContaining('admin account created: ops@example.com') });
    expect(created.stdout).not.toContain(PASSWORD);

    const generated = await runEntry(ADMIN_CLI, { env: env(), args: ['create', '--email', 'night-ops@example.com'] });
    expect(generated.code, generated.stderr).toBe(0);
    const printed = /password \(shown once\): (\S+)/.exec(generated.stdout)?.[1];
    expect(printed?.length).toBeGreaterThanOrEqual(20);

    const taken = await runEntry(ADMIN_CLI, { env: env(), args: ['create', '--email', 'ops@example.com', '--password-stdin'], input: `${PASSWORD}\n` });
    expect(taken).toMatchObject({ code: 1, stderr: expect.stringContaining('already exists') });
    const weak = await runEntry(ADMIN_CLI, { env: env(), args: ['create', '--email', 'weak@example.com', '--password-stdin'], input: 'short\n' });
    expect(weak.code).toBe(1);
    expect((await runEntry(ADMIN_CLI, { env: env(), args: ['create'] })).code).toBe(2);
    expect((await runEntry(ADMIN_CLI, { env: env(), args: ['promote', '--email', 'x@example.com'] })).code).toBe(2);

    // The accounts as the platform sees them, on the same database.
    const platform = await startPlatform({
      host: '127.0.0.1',
      ports: { gateway: 0, users: 0, inference: 0, usage: 0, autonomy: 0, worker: 0, metrics: 0 },
      databaseUrl: database.url,
      embeddedDataDir: 'memory://',
      redisUrl: testEnv.redisUrl,
      redisKeyPrefix: `lotabots_test:admin-cli-${Date.now()}:`,
      logLevel: testEnv.logLevel,
      secrets: await testSecrets(),
    });
    try {
      for (const [email, password] of [['ops@example.com', PASSWORD], ['night-ops@example.com', printed!]] as const) {
        const login = await postGraphQL<{ login: { user: { roles: string[]; scopes: string[] } } }>(platform.gatewayUrl, LOGIN, { input: { email, password } });
        expect(login.body.errors, email).toBeUndefined();
        expect(login.body.data!.login.user.roles).toContain('admin');
        expect(login.body.data!.login.user.scopes).toContain('metrics:read');
      }
    } finally {
      await platform.stop();
    }
  }, 180_000);

  it('npm start on embedded defaults prints a development admin whose password signs in', async () => {
    const started = await startEmbeddedEntry('embedded/main.ts', { env: { ...bareEnv(), ...freeEmbeddedPorts(), EMBEDDED_DATA_DIR: 'memory://', LOG_LEVEL: 'warn' } });
    try {
      const match = await new Promise<RegExpExecArray>((resolve, reject) => {
        const look = () => {
          const found = /Development admin: (\S+), password (\S+) \(shown once\)/.exec(started.output());
          if (found) return resolve(found);
          if (started.child.exitCode !== null) return reject(new Error(started.output()));
          started.child.stdout!.once('data', look);
        };
        look();
      });
      expect(started.output()).toContain('/dashboard');
      const login = await postGraphQL<{ login: { user: { scopes: string[] } } }>(started.gatewayUrl, LOGIN, { input: { email: match[1], password: match[2] } });
      expect(login.body.errors).toBeUndefined();
      expect(login.body.data!.login.user.scopes).toContain('metrics:read');
    } finally {
      started.child.kill('SIGTERM');
      await new Promise((resolve) => started.child.once('exit', resolve));
    }
  }, 180_000);
});
