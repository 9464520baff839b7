import { systemClock } from '../lib/clock.js';
import { listen } from '../lib/http.js';
import { createInferenceBus } from '../lib/inference/index.js';
import { createLogger } from '../lib/logger.js';
import { runMain } from '../lib/main.js';
import { listenMetrics } from '../lib/metrics-server.js';
import { connectRedis } from '../lib/redis.js';
import { startTracing } from '../lib/tracing/tracing.js';
import { loadWorkerConfig } from './config.js';
import { createWorker } from './worker.js';

runMain(async () => {
  const config = loadWorkerConfig(process.env);
  const logger = createLogger({ name: 'worker', level: config.LOG_LEVEL });
  const redis = await connectRedis({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX });
  // Without REDIS_URL (development only) the bus is this process's own: nothing else enqueues on it.
  const bus = createInferenceBus(redis, { inProcess: !config.REDIS_URL, streamTtlSeconds: config.INFERENCE_STREAM_TTL_SECONDS });
  const tracing = await startTracing(config, 'lotabots-worker');
  const worker = createWorker(config, { redis, bus, logger, clock: systemClock, tracer: tracing.tracer });
  await worker.start();
  const server = await listen(worker.handler, { host: config.HOST, port: config.PORT });
  const metrics = await listenMetrics({ '/metrics': worker.registry }, { host: config.HOST, port: config.METRICS_PORT });
  logger.info(`worker probes on ${server.url}/health and /ready, metrics on ${metrics.url}/metrics`);
  return {
    async stop() {
      await worker.stop();
      // Only probes reach this port (no Service routes clients here), so no drain delay.
      await server.close(1_000);
      await metrics.close(0);
      await bus.close();
      redis.disconnect();
      // Last: the spans of the jobs finished above are exported before the process exits.
      await tracing.shutdown();
    },
  };
});
