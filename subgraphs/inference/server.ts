import { createInferenceBus, type InferenceBus } from '../../lib/inference/index.js';
import { createSubgraph, type Subgraph, type SubgraphDeps } from '../../lib/subgraph.js';
import { createWorkerRegistry } from '../../worker/registry.js';
import type { InferenceConfig } from './config.js';
import { createInferenceLoaders, type InferenceContext } from './context.js';
import { createAutonomyClient } from './data/autonomy-client.js';
import { createAutonomyLevelCache } from './data/autonomy-level-cache.js';
import { createInferencePrisma } from './data/database.js';
import { createJobStore } from './data/job-store.js';
import { createJobsRepository } from './data/jobs-repository.js';
import { createResponseCache } from './data/response-cache.js';
import { createEventStreams } from './domain/event-stream.js';
import { createLifecycleConsumer } from './domain/lifecycle-consumer.js';
import { createInferenceMetrics } from './domain/metrics.js';
import { createSubmissions } from './domain/submission.js';
import { createInferenceResolvers } from './resolvers/index.js';

export interface InferenceSubgraphOptions {
  config: InferenceConfig;
  /**
   * The job queue, event logs and lifecycle feed, owned by the caller (the all-in-one platform
   * shares one with its worker). @default a bus of the subgraph's own over `deps.redis`, in
   * memory when REDIS_URL is unset, closed with the subgraph.
   */
  bus?: InferenceBus;
  /**
   * Where the autonomy subgraph answers, when it is known only once it listens (the all-in-one
   * platform's ephemeral ports). @default config.AUTONOMY_SUBGRAPH_URL
   */
  autonomyUrl?: () => string;
}

/**
 * The inference subgraph: models, jobs, submission, cancellation and token streams. Builds
 * everything, listens nowhere; `start()` starts its lifecycle consumer, `close()` stops it.
 */
export function createInferenceSubgraph(deps: SubgraphDeps, options: InferenceSubgraphOptions): Subgraph {
  const { config } = options;
  const ownBus = options.bus
    ? null
    : createInferenceBus(deps.redis, { inProcess: config.REDIS_URL === undefined, streamTtlSeconds: config.INFERENCE_STREAM_TTL_SECONDS });
  const bus = options.bus ?? ownBus!;
  const logger = deps.logger.child({ subgraph: 'inference' });
  const prisma = createInferencePrisma(deps.db);
  const jobs = createJobsRepository(prisma);
  const store = createJobStore(prisma);
  const cache = createResponseCache({ redis: deps.redis, ttlSeconds: config.INFERENCE_CACHE_TTL_SECONDS, logger });
  const workers = createWorkerRegistry(deps.redis, deps.clock);
  const metrics = createInferenceMetrics({
    queueDepth: () => bus.queue.depth(),
    liveWorkers: async () => (await workers.liveWorkers()).length,
  });
  const autonomy = createAutonomyLevelCache({
    lookup: createAutonomyClient({
      url: options.autonomyUrl ?? (() => config.AUTONOMY_SUBGRAPH_URL),
      identity: deps.identity,
      timeoutMs: config.AUTONOMY_TIMEOUT_MS,
      logger,
    }),
    redis: deps.redis,
    clock: deps.clock,
    maxAgeMs: config.INFERENCE_AUTONOMY_CACHE_SECONDS * 1_000,
  });
  const submissions = createSubmissions({ jobs, store, bus, autonomy, cache, redis: deps.redis, metrics, settings: config, clock: deps.clock, logger });
  const events = createEventStreams({ jobs, bus, logger });
  const lifecycle = createLifecycleConsumer({ bus, jobs, store, cache, redis: deps.redis, metrics, logger });
  const subgraph = createSubgraph<InferenceContext>({
    name: 'inference',
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers: createInferenceResolvers({ jobs, store, submissions, events }),
    deps,
    context: (principal) => ({ principal, loaders: createInferenceLoaders(jobs) }),
    start: async () => lifecycle.start(),
    close: async () => {
      await lifecycle.stop();
      await ownBus?.close();
      await prisma.$disconnect();
    },
  });
  metrics.register(subgraph.registry);
  return subgraph;
}
