import { readFileSync } from 'node:fs';

import { buildSchema, parse } from 'graphql';
import { Registry } from 'prom-client';

import { createGatewayAuthenticator } from '../gateway/auth/index.js';
import { gatewayEnvSchema } from '../gateway/config.js';
import { createCostAnalysis, operationLimitsOf } from '../gateway/cost/analysis.js';
import { readCostDirectives } from '../gateway/cost/directives.js';
import { manifestOf, sha256Hex, type TrustedDocuments } from '../gateway/persisted-queries/manifest.js';
import { createPersistedQueryResolver, type PersistedParams } from '../gateway/persisted-queries/resolver.js';
import { createRedisCostBudget } from '../gateway/rate-limit/index.js';
import type { RateLimitAlgorithm } from '../gateway/rate-limit/limiter.js';
import { DEFAULT_RATE_LIMIT_PLANS } from '../gateway/rate-limit/plans.js';
import { createGatewayUpstream } from '../gateway/upstream/index.js';
import { anonymousPrincipal, type Principal } from '../lib/auth/principal.js';
import { systemClock } from '../lib/clock.js';
import { createLogger } from '../lib/logger.js';
import { connectRedis } from '../lib/redis.js';
import type { MicroBenchmark, MicroOperation } from './lib/micro.js';
import type { BenchContext } from './scenarios.js';

/**
 * Micro-benchmarks, reported in their own table before the HTTP one (skipped while empty).
 * Add one per measured operation.
 */
export const microBenchmarks: MicroBenchmark[] = [
  {
    name: 'authenticate: no credential',
    setup: (context) => authenticating(context, async () => new Headers()),
  },
  {
    name: 'authenticate: JWT access token',
    baseline: 'authenticate: no credential',
    setup: (context) => authenticating(context, async () => new Headers({ authorization: `Bearer ${await context.session.accessToken()}` })),
  },
  {
    name: 'authenticate: API key (cached)',
    baseline: 'authenticate: no credential',
    setup: (context) => authenticating(context, async () => new Headers({ 'x-api-key': context.apiKey })),
  },
  {
    name: 'rate limit: token bucket take (Redis)',
    setup: (context) => rateLimiting(context, 'token-bucket'),
  },
  {
    name: 'rate limit: sliding window take (Redis)',
    baseline: 'rate limit: token bucket take (Redis)',
    setup: (context) => rateLimiting(context, 'sliding-window'),
  },
  {
    name: 'persisted queries: ad-hoc query, first-party caller',
    setup: (context) => persisting(context, { query: ADHOC }, false),
  },
  {
    name: 'persisted queries: partner documentId (manifest)',
    baseline: 'persisted queries: ad-hoc query, first-party caller',
    setup: (context) => persisting(context, { documentId: sha256Hex(TRUSTED) }, true),
  },
  {
    name: 'persisted queries: partner ad-hoc query (refused)',
    baseline: 'persisted queries: ad-hoc query, first-party caller',
    setup: (context) => persisting(context, { query: ADHOC }, true),
  },
  {
    name: 'persisted queries: APQ hash (Redis)',
    baseline: 'persisted queries: ad-hoc query, first-party caller',
    setup: (context) => persisting(context, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256Hex(ADHOC) } } }, false),
  },
  {
    name: 'cost analysis: cached document',
    setup: () => pricing({ cached: true }),
  },
  {
    name: 'cost analysis: uncached document',
    baseline: 'cost analysis: cached document',
    setup: () => pricing({ cached: false }),
  },
];

/** @default 1_000 // callers the rate-limit rows rotate through, as a gateway sees many. */
const RATE_LIMIT_CALLERS = 1_000;

/**
 * One rate-limit decision (`CostBudget.take`, cost 10, default plans) per call against the
 * platform's Redis (ops/s = decisions per second from one client, one round trip each),
 * rotating through RATE_LIMIT_CALLERS anonymous callers.
 */
async function rateLimiting(context: BenchContext, algorithm: RateLimitAlgorithm): Promise<MicroOperation> {
  const redis = await connectRedis({ url: context.redis.url, keyPrefix: context.redis.keyPrefix });
  const logger = createLogger({ name: 'bench', level: 'silent' });
  const budget = createRedisCostBudget({ redis, plans: DEFAULT_RATE_LIMIT_PLANS, clock: systemClock, algorithm, failurePolicy: 'closed', logger, registry: new Registry() });
  const callers: Principal[] = Array.from({ length: RATE_LIMIT_CALLERS }, (_, i) => anonymousPrincipal(`198.51.${i >> 8}.${i & 255}`));
  let next = 0;
  return {
    run: () => budget.take(callers[next++ % RATE_LIMIT_CALLERS]!, 10),
    close: () => void redis.disconnect(),
  };
}


const TRUSTED = 'query BenchTrusted {\n  models {\n    id\n  }\n}';
const ADHOC = 'query BenchModels { models { id } }';

/**
 * What persisted queries add to one request, in the gateway's order: resolving the params
 * (`onParams`: nothing for a plain query, a manifest lookup for a documentId, a Redis GET for
 * an APQ hash) and, for a caller held to the manifest, the rule (`onExecute`: hashing an ad-hoc text). Compare
 * with the gateway's µs per request (1e6 ÷ its req/s) for the share of throughput it costs.
 */
async function persisting(context: BenchContext, params: PersistedParams, heldToManifest: boolean): Promise<MicroOperation> {
  const redis = await connectRedis({ url: context.redis.url, keyPrefix: context.redis.keyPrefix });
  const manifest = manifestOf([TRUSTED]);
  const documents: TrustedDocuments = { bodyOf: (id) => (id === manifest.operations[0]!.id ? manifest.operations[0]!.body : undefined), hasName: () => true, size: 1 };
  const resolver = createPersistedQueryResolver({ redis, ttlSeconds: 600, documents: () => documents });
  await resolver.resolve({ query: ADHOC, extensions: { persistedQuery: { version: 1, sha256Hash: sha256Hex(ADHOC) } } });
  return {
    run: async () => {
      const resolved = await resolver.resolve(params);
      return heldToManifest && resolver.isTrusted(resolved);
    },
    close: () => void redis.disconnect(),
  };
}

/** A nested paginated query, priced with a variable as every request is. */
const PRICED_QUERY = 'query Jobs($n: Int!) { me { id inferenceJobs(first: $n) { id status tokensIn model { id displayName } } } }';

/**
 * The gateway's cost analysis over our supergraph (default operation limits): cached, a
 * document already analysed (what a repeated operation costs: applying its variables);
 * uncached, the first request of a document (walking it against the schema, then pricing).
 * Parsing is outside both: Yoga caches parsed documents anyway.
 */
function pricing(options: { cached: boolean }): MicroOperation {
  const supergraph = readFileSync(new URL('../supergraph.graphql', import.meta.url), 'utf8');
  const directives = readCostDirectives(supergraph, () => null);
  const limits = operationLimitsOf(gatewayEnvSchema.parse({ LOG_LEVEL: 'silent' }));
  const schema = buildSchema(supergraph);
  const document = parse(PRICED_QUERY);
  const shared = createCostAnalysis(directives, limits);
  const price = () => {
    const analysis = options.cached ? shared : createCostAnalysis(directives, limits);
    const priced = analysis.analyse(schema, document, 'Jobs');
    if (priced instanceof Error) throw priced;
    return priced.estimate({ n: 20 });
  };
  if (price() !== 1 + 20 * (1 + 1)) throw new Error('the benchmark query is not priced as expected');
  return { run: price };
}

/**
 * `authenticator.authenticate(headers, '127.0.0.1')` with the gateway's real authenticator
 * (`createGatewayAuthenticator`, default gateway settings): the platform's public key, its
 * Redis and key prefix (session revocations, the API key cache) and its users subgraph for
 * API key lookups. The headers are made once per round, as a request brings them. The first
 * call must succeed; for an API key it fills the cache, so the loop measures cache hits (an
 * entry lives API_KEY_CACHE_SECONDS, 60 s: a longer run pays one lookup per minute).
 */
async function authenticating(context: BenchContext, makeHeaders: () => Promise<Headers>): Promise<MicroOperation> {
  // The authenticator reads no NODE_ENV-dependent setting; production would also demand a REDIS_URL.
  const config = gatewayEnvSchema.parse({ LOG_LEVEL: 'silent' });
  const redis = await connectRedis({ url: context.redis.url, keyPrefix: context.redis.keyPrefix });
  const { authenticator } = createGatewayAuthenticator(
    config,
    { keys: context.keys, redis, identity: context.identity, clock: systemClock, logger: createLogger({ name: 'bench', level: 'silent' }) },
    createGatewayUpstream(config, [{ name: config.API_KEY_SUBGRAPH, url: context.subgraphUrls.users }], new Registry()),
  );
  let headers = await makeHeaders();
  const expectedKind = headers.has('authorization') ? 'user' : headers.has('x-api-key') ? 'apiKey' : 'anonymous';
  const principal = await authenticator.authenticate(headers, '127.0.0.1');
  if (principal.kind !== expectedKind) throw new Error(`authenticate returned a ${principal.kind} principal, expected ${expectedKind}`);
  return {
    // A token renewed between rounds (the session refreshes it near expiry) is picked up here.
    async beforeRound() {
      headers = await makeHeaders();
    },
    run: () => authenticator.authenticate(headers, '127.0.0.1'),
    close: () => void redis.disconnect(),
  };
}
