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
 * Budgets no test exhausts unless it sets RATE_LIMIT_PLANS itself: test files send thousands
 * of operations from one address; the per-operation cost ceilings keep their defaults.
 */
const UNMETERED = { bucketSize: 1_000_000_000, restorePerSecond: 1_000_000, requestsPerWindow: 1_000_000_000, windowSeconds: 60 };
export const UNMETERED_RATE_LIMIT_PLANS = JSON.stringify({ free: UNMETERED, pro: UNMETERED, enterprise: UNMETERED });

/**
 * For test files whose partner API keys run ad-hoc documents to test something else (ownership,
 * scopes, outages): the trusted-document rule in its explicit rollout mode, which runs and logs
 * them. The rule itself (enforced by default) is tested in persisted-queries.e2e.ts.
 */
export const AD_HOC_API_KEY_DOCUMENTS = { PERSISTED_QUERIES_MODE: 'log-only' } as const;
