/**
 * Where the tests find real services. Defaults match the development machine and CI:
 * PostgreSQL with trust auth and Redis on loopback.
 */
export const testEnv = {
  /** A database the tests may create and drop other databases from. */
  adminDatabaseUrl: process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
};

/**
 * Buckets no test exhausts unless it sets COST_PLANS itself: test files send thousands of
 * operations from one address; the per-operation cost ceilings keep their defaults.
 */
export const UNMETERED_COST_PLANS = JSON.stringify({
  free: { bucket: 1_000_000_000, restorePerSecond: 1_000_000 },
  pro: { bucket: 1_000_000_000, restorePerSecond: 1_000_000 },
  enterprise: { bucket: 1_000_000_000, restorePerSecond: 1_000_000 },
});
