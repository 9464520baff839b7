import { mkdir } from 'node:fs/promises';

import { loadIdentitySecret, loadSigningKeys } from '../lib/auth/keys.js';
import { runMain } from '../lib/main.js';
import { redactUrl } from '../lib/redis.js';
import { loadEmbeddedConfig } from './config.js';
import { startPlatform } from './platform.js';

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
  return platform;
});
