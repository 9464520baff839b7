import { mkdir } from 'node:fs/promises';

import { loadIdentitySecret, loadSigningKeys } from '../lib/auth/keys.js';
import type { Database } from '../lib/db/connection.js';
import { runMain } from '../lib/main.js';
import { redactUrl } from '../lib/redis.js';
import { createUsersPrisma } from '../subgraphs/users/data/database.js';
import { createUsersStore } from '../subgraphs/users/data/store.js';
import { createAdminAccounts, DEVELOPMENT_ADMIN_EMAIL } from '../subgraphs/users/domain/admin-accounts.js';
import { loadEmbeddedConfig } from './config.js';
import { startPlatform } from './platform.js';

/**
 * On embedded defaults, a newcomer's way into /dashboard: the first start makes a development
 * admin with a random password printed once (PGlite admits one process, so `npm run admin`
 * cannot run beside `npm start`); later starts say which account it is and how to make others.
 */
async function announceDevelopmentAdmin(db: Database, gatewayUrl: string): Promise<void> {
  const prisma = createUsersPrisma(db);
  try {
    const created = await createAdminAccounts(createUsersStore(prisma)).ensureDevelopmentAdmin();
    const dashboard = new URL('/dashboard', gatewayUrl).toString();
    const signIn = `mutation { login(input: { email: "${DEVELOPMENT_ADMIN_EMAIL}", password: "…" }) { accessToken } }`;
    process.stdout.write(
      created
        ? `Development admin: ${created.email}, password ${created.password} (shown once). Sign in with ${signIn} and paste the accessToken into ${dashboard}\n`
        : `An admin account exists (development admin: ${DEVELOPMENT_ADMIN_EMAIL}, password printed at its first start). Another: stop, then npm run admin -- create --email EMAIL. Dashboard: ${dashboard}\n`,
    );
  } finally {
    await prisma.$disconnect();
  }
}

runMain(async () => {
  const config = loadEmbeddedConfig(process.env);
  if (!config.DATABASE_URL && !config.EMBEDDED_DATA_DIR.startsWith('memory://')) {
    await mkdir(config.EMBEDDED_DATA_DIR, { recursive: true });
  }
  const platform = await startPlatform({
    host: config.HOST,
    ports: {
      gateway: config.GATEWAY_PORT,
      ...config.subgraphPorts,
      worker: config.WORKER_PORT,
      metrics: config.METRICS_PORT,
    },
    databaseUrl: config.DATABASE_URL,
    embeddedDataDir: config.EMBEDDED_DATA_DIR,
    redisUrl: config.REDIS_URL,
    redisKeyPrefix: config.REDIS_KEY_PREFIX,
    logLevel: config.LOG_LEVEL,
    gatewayEnv: config.gatewayEnv,
    users: config.users,
    usage: config.usage,
    inference: config.inference,
    worker: config.worker,
    subgraphs: config.subgraphs,
    tracing: config,
    secrets: {
      identitySecret: await loadIdentitySecret({ secret: config.subgraphs.IDENTITY_SIGNING_SECRET, devKeyDir: config.DEV_KEY_DIR, production: false }),
      signingKeys: await loadSigningKeys(
        { privateKeyPem: config.users.JWT_PRIVATE_KEY, publicKeyPem: config.users.JWT_PUBLIC_KEY, keyId: config.users.JWT_KEY_ID, devKeyDir: config.DEV_KEY_DIR, production: false },
        true,
      ),
    },
  });
  const database = config.DATABASE_URL ? redactUrl(config.DATABASE_URL) : `embedded PGlite in ${config.EMBEDDED_DATA_DIR}`;
  const redis = config.REDIS_URL ? redactUrl(config.REDIS_URL) : 'in-process stand-in';
  process.stdout.write(`LotaBots platform API ready (database: ${database}; redis: ${redis})\n`);
  process.stdout.write(`Gateway: ${platform.gatewayUrl}\n`);
  if (!config.DATABASE_URL) await announceDevelopmentAdmin(platform.db, platform.gatewayUrl);
  return platform;
});
