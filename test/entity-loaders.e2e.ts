import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { type Database, openDatabase } from '../lib/db/connection.js';
import { applyMigrations } from '../lib/db/migrations.js';
import { migrationSetOf, TABLE_OWNERS } from '../lib/db/owners.js';
import { createAutonomyLoaders } from '../subgraphs/autonomy/context.js';
import { createAutonomyPrisma } from '../subgraphs/autonomy/data/database.js';
import { createSettingsRepository } from '../subgraphs/autonomy/data/settings-repository.js';
import { createInferenceLoaders } from '../subgraphs/inference/context.js';
import { createInferencePrisma } from '../subgraphs/inference/data/database.js';
import { createJobsRepository } from '../subgraphs/inference/data/jobs-repository.js';
import { createUsageLoaders } from '../subgraphs/usage/context.js';
import { createUsagePrisma } from '../subgraphs/usage/data/database.js';
import { createUsageRepository } from '../subgraphs/usage/data/usage-repository.js';
import { monthOf } from '../subgraphs/usage/domain/billing-period.js';
import { createUsersLoaders } from '../subgraphs/users/context.js';
import { createUsersPrisma } from '../subgraphs/users/data/database.js';
import { createUsersRepository } from '../subgraphs/users/data/users-repository.js';
import { createTestDatabase, type TestDatabase } from './kit.js';
import { type SqlStatementWatch, watchSqlStatements } from './sql-statements.js';

/**
 * Each subgraph's per-request loaders against real PostgreSQL (issue 17, item 7): the loads
 * of one tick, for many users, are one statement per table, and each user gets their own rows
 * and nobody else's.
 */
describe('entity loaders: N keys, one statement per table', () => {
  let database: TestDatabase;
  let db: Database;
  let sql: SqlStatementWatch;
  const clients: Array<{ $disconnect(): Promise<void> }> = [];
  // Ada has data everywhere, Bob a little, Cy nothing at all.
  const [ada, bob, cy] = [randomUUID(), randomUUID(), randomUUID()];
  const { start, end } = monthOf(new Date());

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await openDatabase({ url: database.url, embeddedDataDir: 'memory://', poolSize: 4 });
    for (const owner of TABLE_OWNERS) await applyMigrations(db, migrationSetOf(owner));
    for (const [id, name] of [[ada, 'ada'], [bob, 'bob']]) {
      await db.query(`INSERT INTO users."User" (id, email, "displayName", "passwordHash", "updatedAt") VALUES ($1, $2, $3, 'not-a-hash', now())`, [id, `${name}@example.com`, name]);
    }
    // Five of Ada's jobs a minute apart, two of Bob's.
    await db.query(
      `INSERT INTO inference."InferenceJob" (id, "userId", "modelId", prompt, "maxTokens", "autonomyLevel", "createdAt")
       SELECT gen_random_uuid(), $1::uuid, 'lotabots-tiny-cpu', 'ada ' || n, 16, 'EXPERT', now() - n * interval '1 minute' FROM generate_series(1, 5) AS n
       UNION ALL
       SELECT gen_random_uuid(), $2::uuid, 'lotabots-tiny-cpu', 'bob ' || n, 16, 'EXPERT', now() - n * interval '1 minute' FROM generate_series(1, 2) AS n`,
      [ada, bob],
    );
    await db.query(`INSERT INTO usage."Account" ("userId", "planId", "updatedAt") VALUES ($1, 'pro', now())`, [ada]);
    await db.query(
      `INSERT INTO usage."UsageHourly" ("userId", hour, requests, "tokensIn", "tokensOut") VALUES ($1, $3, 2, 20, 200), ($1, $3::timestamptz + interval '1 day', 3, 30, 300), ($2, $3::timestamptz - interval '1 hour', 7, 70, 700)`,
      [ada, bob, start.toISOString()],
    );
    await db.query(
      `INSERT INTO autonomy."AutonomySetting" ("userId", context, level, "updatedAt") VALUES ($1, '', 'EXPERT', now()), ($1, 'code', 'AGENT', now()), ($2, '', 'NO_AI', now())`,
      [ada, bob],
    );
    sql = watchSqlStatements();
  });

  beforeEach(() => sql.clear());

  afterAll(async () => {
    sql?.[Symbol.dispose]();
    for (const client of clients) await client.$disconnect();
    await db?.close();
    await database?.drop();
  });

  const connect = <Client extends { $disconnect(): Promise<void> }>(client: Client) => (clients.push(client), client);

  it('users: each reference by id, one statement for all', async () => {
    const loaders = createUsersLoaders(createUsersRepository(connect(createUsersPrisma(db))));
    const users = await Promise.all([ada, bob, cy, ada].map(loaders.user));
    expect(users.map((user) => user?.email ?? null)).toEqual(['ada@example.com', 'bob@example.com', null, 'ada@example.com']);
    expect(users[0]).not.toHaveProperty('passwordHash');
    expect(sql.on('users')).toHaveLength(1);
  });

  it("inference: each user's newest jobs, one statement for all users and page sizes", async () => {
    const loaders = createInferenceLoaders(createJobsRepository(connect(createInferencePrisma(db))));
    const [adaThree, bobThree, cyThree, adaAll] = await Promise.all([
      loaders.jobsOfUser({ userId: ada, first: 3 }),
      loaders.jobsOfUser({ userId: bob, first: 3 }),
      loaders.jobsOfUser({ userId: cy, first: 3 }),
      loaders.jobsOfUser({ userId: ada, first: 100 }),
    ]);
    expect(adaThree!.map((job) => job.prompt)).toEqual(['ada 1', 'ada 2', 'ada 3']);
    expect(bobThree!.map((job) => job.prompt)).toEqual(['bob 1', 'bob 2']);
    expect(cyThree).toEqual([]);
    expect(adaAll!.map((job) => job.prompt)).toEqual(['ada 1', 'ada 2', 'ada 3', 'ada 4', 'ada 5']);
    expect(adaAll![0]).toMatchObject({ userId: ada, status: 'QUEUED', createdAt: expect.any(Date), tokensOut: 0 });
    expect(sql.on('inference', 'InferenceJob')).toHaveLength(1);
  });

  it('inference: the model of each job, one statement for all', async () => {
    const loaders = createInferenceLoaders(createJobsRepository(connect(createInferencePrisma(db))));
    const models = await Promise.all(['lotabots-tiny-cpu', 'no-such-model', 'lotabots-tiny-cpu'].map(loaders.model));
    expect(models.map((model) => model?.id ?? null)).toEqual(['lotabots-tiny-cpu', null, 'lotabots-tiny-cpu']);
    expect(sql.on('inference')).toHaveLength(1);
  });

  it("usage: each user's plan (the default without an account), one statement per table for all", async () => {
    const loaders = createUsageLoaders(createUsageRepository(connect(createUsagePrisma(db))));
    const plans = await Promise.all([ada, bob, cy].map(loaders.plan));
    expect(plans.map((plan) => plan?.id)).toEqual(['pro', 'free', 'free']);
    expect(sql.on('usage', 'Account')).toHaveLength(1);
    expect(sql.on('usage', 'Plan')).toHaveLength(1);
  });

  it("usage: each user's totals over the period, one statement for all", async () => {
    const loaders = createUsageLoaders(createUsageRepository(connect(createUsagePrisma(db))));
    const totals = await Promise.all([ada, bob, cy].map((userId) => loaders.totals({ userId, start, end })));
    expect(totals).toEqual([
      { requests: 5, errors: 0, tokensIn: 50, tokensOut: 500, estimatedCost: 0, actualCost: 0 },
      // Bob's usage is from the month before.
      { requests: 0, errors: 0, tokensIn: 0, tokensOut: 0, estimatedCost: 0, actualCost: 0 },
      { requests: 0, errors: 0, tokensIn: 0, tokensOut: 0, estimatedCost: 0, actualCost: 0 },
    ]);
    expect(sql.on('usage')).toHaveLength(1);
  });

  it("autonomy: each user's effective setting for each context, one statement for all, from that user's rows only", async () => {
    const loaders = createAutonomyLoaders(createSettingsRepository(connect(createAutonomyPrisma(db))));
    const keys = [
      { userId: ada, context: 'code' },
      { userId: ada, context: null },
      { userId: ada, context: 'other' },
      // Ada has a `code` setting; Bob's answer is his own default.
      { userId: bob, context: 'code' },
      { userId: cy, context: 'code' },
    ];
    const settings = await Promise.all(keys.map(loaders.effectiveSetting));
    expect(settings.map((setting) => setting && { userId: setting.userId, level: setting.level })).toEqual([
      { userId: ada, level: 'AGENT' },
      { userId: ada, level: 'EXPERT' },
      { userId: ada, level: 'EXPERT' },
      { userId: bob, level: 'NO_AI' },
      null,
    ]);
    expect(sql.on('autonomy')).toHaveLength(1);
  });
});
