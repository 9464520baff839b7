import { Redis } from 'ioredis';
import pg from 'pg';

import { testEnv } from './env.js';

/** Fails the run up front, with a clear message, when PostgreSQL or Redis is not reachable. */
export default async function setup() {
  const client = new pg.Client({ connectionString: testEnv.adminDatabaseUrl, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    // Databases left behind by an interrupted run: unused and created over a day ago. A run in
    // progress beside this one (another checkout) may hold a database idle between queries.
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database d WHERE datname LIKE 'lotabots_test_%'
         AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)`,
    );
    const dayAgo = Date.now() / 1000 - 86_400;
    const abandoned = rows.map(({ datname }) => datname).filter((name) => Number(/^lotabots_test_(\d+)_/.exec(name)?.[1] ?? 0) < dayAgo);
    for (const datname of abandoned) await client.query(`DROP DATABASE IF EXISTS "${datname}"`).catch(() => {});
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at ${testEnv.adminDatabaseUrl} (${(error as Error).message}); start it or set TEST_DATABASE_ADMIN_URL`);
  } finally {
    await client.end().catch(() => {});
  }
  const redis = new Redis(testEnv.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis is not reachable at ${testEnv.redisUrl} (${(error as Error).message}); start it or set TEST_REDIS_URL`);
  } finally {
    redis.disconnect();
  }
}
