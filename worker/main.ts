import { systemClock } from '../lib/clock.js';
import { listen } from '../lib/http.js';
import { createLogger } from '../lib/logger.js';
import { runMain } from '../lib/main.js';
import { connectRedis } from '../lib/redis.js';
import { loadWorkerConfig } from './config.js';
import { createWorker } from './worker.js';

runMain(async () => {
  const config = loadWorkerConfig(process.env);
  const logger = createLogger({ name: 'worker', level: config.LOG_LEVEL });
  const redis = await connectRedis({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX });
  const worker = createWorker(config, { redis, logger, clock: systemClock });
  await worker.start();
  const server = await listen(worker.handler, { host: config.HOST, port: config.PORT });
  logger.info(`worker metrics on ${server.url}/metrics`);
  return {
    async stop() {
      await worker.stop();
      await server.close(1_000);
      redis.disconnect();
    },
  };
});
