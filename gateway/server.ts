import type { Server } from 'node:http';

import type { Tracer } from '@opentelemetry/api';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Registry } from 'prom-client';

import type { IdentitySigner } from '../lib/auth/identity-header.js';
import type { SigningKeys } from '../lib/auth/keys.js';
import { anonymousPrincipal, type Principal } from '../lib/auth/principal.js';
import { useRequestBodyLimit } from '../lib/body-limit.js';
import type { Clock } from '../lib/clock.js';
import { documentLimitsOf, useDocumentLimits } from '../lib/graphql-limits.js';
import { useHideSuggestions } from '../lib/hide-suggestions.js';
import { SCHEMA_READ_SCOPE, useIntrospectionPolicy } from '../lib/introspection.js';
import { createLiveHub } from '../lib/live/pubsub.js';
import type { Logger } from '../lib/logger.js';
import { maskUnexpectedError } from '../lib/mask-error.js';
import { createMetricsRegistry, useGraphqlMetrics } from '../lib/metrics.js';
import type { Redis } from '../lib/redis.js';
import { useSecurityHeaders } from '../lib/security-headers.js';
import { useAccessLog } from './access-log/use-access-log.js';
import { createGatewayAuthenticator } from './auth/index.js';
import { watchRevocations } from './auth/revocation-notices.js';
import { useAuth } from './auth/use-auth.js';
import { AUTHENTICATED_SPEC, readAuthorizationRequirements, REQUIRES_SCOPES_SPEC } from './authorization/requirements.js';
import { useAuthDirectives } from './authorization/use-auth-directives.js';
import type { GatewayConfig } from './config.js';
import { createCostAnalysis, operationLimitsOf } from './cost/analysis.js';
import type { CostBudget } from './cost/budget.js';
import { COST_SPEC, readCostDirectives } from './cost/directives.js';
import { useCostLimits } from './cost/use-cost-limits.js';
import { engineFactories } from './engine/engines.js';
import { createReloadableEngine } from './engine/reloadable.js';
import { linkedDirectiveNameIn } from './engine/supergraph-links.js';
import { useHealth } from './health/use-health.js';
import { useInboundDeduplication } from './inbound-dedup/use-inbound-deduplication.js';
import { useLiveStats } from './live-stats/use-live-stats.js';
import { createPersistedQueryResolver } from './persisted-queries/resolver.js';
import { usePersistedQueries } from './persisted-queries/use-persisted-queries.js';
import { watchTrustedDocuments } from './persisted-queries/watch.js';
import { createPlanDirectory } from './plans/plan-directory.js';
import { usePlanTier } from './plans/use-plan-tier.js';
import { createRequestQuota } from './plans/use-request-quota.js';
import { useBufferedJsonResponse } from './plugins/use-buffered-json-response.js';
import { useCors } from './plugins/use-cors.js';
import { useCsrfPrevention } from './plugins/use-csrf-prevention.js';
import { useDashboard } from './plugins/use-dashboard.js';
import { useFederatedExecution } from './plugins/use-federated-execution.js';
import { useMultipartSubscriptions } from './plugins/use-multipart-subscriptions.js';
import { useRequestErrorStatus } from './plugins/use-request-error-status.js';
import { useRequestParseErrors } from './plugins/use-request-parse-errors.js';
import { createRateLimitBudget } from './rate-limit/index.js';
import { acknowledgeEnforcedSecurityFeatures } from './security-features.js';
import { createGatewaySubscriptions, type GatewaySubscriptions } from './subscriptions/index.js';
import { endRevokedSubscriptions } from './subscriptions/revocations.js';
import { directiveApplications } from './supergraph.js';
import { propagateTraceContext, useGatewayTracing } from './tracing/use-gateway-tracing.js';
import { offlineGraphiQL } from './transports/graphiql.js';
import { attachGraphqlWs } from './transports/graphql-ws.js';
import { createGatewayUpstream, type SubgraphEndpoint } from './upstream/index.js';
import { useUsageEvents } from './usage-events/use-usage-events.js';

export interface GatewayDeps {
  logger: Logger;
  /** The supergraph SDL to serve (see loadSupergraphSdl). */
  supergraphSdl: string;
  redis: Redis;
  clock: Clock;
  /** Signs the identity header the subgraphs verify. */
  identity: IdentitySigner;
  /** Verifies LotaBots access tokens (which must name this `keyId`). */
  keys: Pick<SigningKeys, 'publicKey' | 'keyId'>;
  /** The gateway's tracer (lib/tracing `startTracing`); unset: tracing off, no tracing plugin, hook or span. */
  tracer?: Tracer | undefined;
}

export interface Gateway {
  yoga: YogaServerInstance<Record<string, unknown>, Record<string, unknown>>;
  registry: Registry;
  subgraphs: readonly SubgraphEndpoint[];
  /** Open subscriptions, and ending those of a revoked caller. */
  subscriptions: Pick<GatewaySubscriptions, 'openSubscriptions' | 'endSubscriptionsOf'>;
  /** Each caller's cost budget over time, shared by every gateway process through Redis (gateway/rate-limit/). */
  costBudget: CostBudget;
  /** Serves GraphQL over WebSocket (graphql-transport-ws) on the same server and path. */
  attachWebSockets(server: Server): { close(): Promise<void> };
  /**
   * Serves a new supergraph without a restart (hot reload): requests in flight and open
   * subscriptions finish on the old one, new requests get the new API schema. Rejects, keeping
   * the current supergraph, when the new one does not load, names other subgraphs or URLs, or
   * changes an authorization or cost directive (those are read at start-up: restart to apply).
   */
  reloadSupergraph(supergraphSdl: string): Promise<void>;
  startDraining(): void;
  close(): Promise<void>;
}

/**
 * The gateway as a library: plans and executes operations over the supergraph's subgraphs
 * and serves `/graphql` (GraphiQL outside production), `/health`, `/health/subgraphs` and `/ready`.
 * Listens nowhere; `main.ts` does, and serves `registry` on its own metrics port.
 */
export async function createGateway(config: GatewayConfig, deps: GatewayDeps): Promise<Gateway> {
  const logger = deps.logger;
  const registry = createMetricsRegistry('gateway', { processMetrics: true });
  const supergraphSdl = acknowledgeEnforcedSecurityFeatures(deps.supergraphSdl);
  // Transport → plugins → engine → upstream: the engine loads the supergraph and reaches its
  // subgraphs only through the upstream module, made for the subgraph list it found.
  const { tracer } = deps;
  const engine = await createReloadableEngine(
    {
      supergraphSdl,
      connect: (subgraphs) => createGatewayUpstream(config, subgraphs, registry, tracer ? { tracer, hooks: [propagateTraceContext] } : {}),
      logger,
      planCacheSize: config.ENGINE_PLAN_CACHE_SIZE,
      tracer,
    },
    engineFactories[config.GATEWAY_ENGINE],
  );
  const { subgraphs, upstream } = engine;
  const { authenticator, sessionRevocations } = createGatewayAuthenticator(config, deps, upstream);
  const subscriptions = createGatewaySubscriptions(config, { engine, upstream, registry, clock: deps.clock, logger });
  const liveHub = createLiveHub(deps.redis, logger);
  const plans = createPlanDirectory({
    redis: deps.redis,
    hub: liveHub,
    clock: deps.clock,
    logger,
    defaults: { rateLimit: config.RATE_LIMIT_PLANS, cost: config.COST_PLANS },
    cacheTtlMs: config.PLAN_CACHE_TTL_MS,
  });
  const stopWatchingPlans = await plans.start();
  const costBudget = createRateLimitBudget(config, { redis: deps.redis, clock: deps.clock, logger, registry, plans: plans.rateLimitPlans });
  const stopWatchingRevocations = await watchRevocations(liveHub, [endRevokedSubscriptions(subscriptions), sessionRevocations], logger);
  const probeCaller = { identityHeader: () => deps.identity.sign(anonymousPrincipal(null)) };
  const trustedDocuments = await watchTrustedDocuments(config.PERSISTED_DOCUMENTS_FILE, logger);
  const persistedQueries = createPersistedQueryResolver({ redis: deps.redis, ttlSeconds: config.APQ_TTL_SECONDS, documents: trustedDocuments.current });
  const requestQuota = createRequestQuota({ directory: plans, redis: deps.redis, clock: deps.clock, logger });
  const credentialHeaders = ['authorization', 'x-api-key'];
  const servedDirectives = enforcedDirectivesOf(supergraphSdl);
  let draining = false;
  const production = config.NODE_ENV === 'production';
  const introspectionForAll = config.INTROSPECTION ?? !production;
  const yoga = createYoga<Record<string, unknown>>({
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: false as never,
    landingPage: false,
    graphiql: !production,
    renderGraphiQL: offlineGraphiQL(),
    logging: false,
    // Yoga's CORS reflects any Origin with credentials; useCors answers CORS_ORIGINS only.
    cors: false,
    maskedErrors: { maskError: maskUnexpectedError(logger) },
    // useRequestBodyLimit below enforces the (smaller) body limit before Yoga reads a byte;
    // Yoga's own 25 MB check would pipe every body through a TransformStream per request.
    maxRequestBodySize: false,
    plugins: [
      // First: it hands out the request id and sees every request, even one the next plugin refuses.
      useAccessLog({ logger, enabled: config.ACCESS_LOG, level: config.ACCESS_LOG_LEVEL, graphqlEndpoint: '/graphql' }),
      // Its request span wraps the whole request (instrumentation), wherever it is listed.
      ...(tracer ? [useGatewayTracing(tracer, '/graphql')] : []),
      useRequestBodyLimit(config.MAX_REQUEST_BODY_BYTES),
      useSecurityHeaders({ credentialHeaders, hstsMaxAgeSeconds: config.HSTS_MAX_AGE_SECONDS }),
      ...(config.CORS_ORIGINS.length > 0 ? [useCors(config.CORS_ORIGINS)] : []),
      useCsrfPrevention(),
      useRequestParseErrors(),
      useHealth({
        upstream,
        probeTimeoutMs: config.HEALTH_PROBE_TIMEOUT_MS,
        subgraphsCacheMs: config.HEALTH_SUBGRAPHS_CACHE_MS,
        isDraining: () => draining,
        redis: deps.redis,
        probeCaller,
      }),
      useDocumentLimits(documentLimitsOf(config)),
      useGraphqlMetrics(registry, { maxNames: config.METRICS_MAX_OPERATION_NAMES, isKnownOperation: (name) => trustedDocuments.current().hasName(name) }),
      useDashboard(),
      useLiveStats({ redis: deps.redis, clock: deps.clock, logger, registry, openSubscriptions: subscriptions.openSubscriptions }),
      useAuth(authenticator, deps.identity, config.TRUSTED_PROXY_HOPS),
      usePlanTier(plans, deps.identity),
      usePersistedQueries(
        persistedQueries,
        {
          mode: config.PERSISTED_QUERIES_MODE,
          allowArbitraryForTokens: config.PERSISTED_QUERIES_ALLOW_ARBITRARY_FOR_TOKENS,
          allowArbitraryAnonymous: config.PERSISTED_QUERIES_ALLOW_ARBITRARY_ANONYMOUS,
          getMaxAgeSeconds: config.PERSISTED_QUERIES_GET_MAX_AGE_SECONDS,
          credentialHeaders,
        },
        logger,
      ),
      useIntrospectionPolicy((context) => introspectionForAll || (context.principal as Principal).scopes.includes(SCHEMA_READ_SCOPE)),
      ...((config.GRAPHQL_SUGGESTIONS ?? !production) ? [] : [useHideSuggestions()]),
      useAuthDirectives(readAuthorizationRequirements(deps.supergraphSdl, engine.linkedDirectiveName)),
      ...(config.COST_LIMITS === 'on'
        ? [
            useCostLimits({
              analysis: createCostAnalysis(readCostDirectives(deps.supergraphSdl, engine.linkedDirectiveName), operationLimitsOf(config)),
              budget: costBudget,
              plans: plans.costPlans,
              registry,
              countWithCharge: requestQuota.withCharge,
              tracer,
            }),
          ]
        : []),
      // After the cost limits: an operation they refuse does not count against the monthly quota
      // (one they allow was counted by their take, in its round trip: this applies the outcome).
      requestQuota.plugin,
      // After authorization, so operations refused before execution are not metered.
      useUsageEvents({ redis: deps.redis, clock: deps.clock, logger, registry, refusedAfterExecution: requestQuota.refusedAfterExecution }),
      useRequestErrorStatus(),
      useMultipartSubscriptions(config.MULTIPART_HEARTBEAT_MS),
      useBufferedJsonResponse(),
      subscriptions.plugin,
      useFederatedExecution(engine),
      // Last: it wraps the engine's execute, after every check has run for this request.
      ...(config.INBOUND_DEDUPLICATION ? [useInboundDeduplication(registry)] : []),
    ],
  });
  return {
    yoga,
    registry,
    subgraphs,
    subscriptions,
    costBudget,
    attachWebSockets: (server) =>
      attachGraphqlWs({
        server,
        yoga,
        authenticator,
        logger,
        connectionInitWaitTimeoutMs: config.CONNECTION_INIT_TIMEOUT_MS,
        keepAliveMs: config.SUBSCRIPTION_KEEPALIVE_MS,
        trustedProxyHops: config.TRUSTED_PROXY_HOPS,
        maxPayloadBytes: config.MAX_REQUEST_BODY_BYTES,
        resolveParams: (params) => persistedQueries.resolve(params),
      }),
    async reloadSupergraph(nextSdl) {
      const next = acknowledgeEnforcedSecurityFeatures(nextSdl);
      if (enforcedDirectivesOf(next) !== servedDirectives) {
        throw new Error('the new supergraph changes authorization or cost directives; restart the gateway to apply it');
      }
      await engine.reload(next);
      logger.info('supergraph reloaded');
    },
    startDraining: () => {
      draining = true;
    },
    async close() {
      // Refunds held for callers' next takes go out while Redis is still connected.
      await costBudget.flushRefunds();
      await stopWatchingRevocations();
      await stopWatchingPlans();
      trustedDocuments.close();
      await liveHub.close();
      await yoga.dispose();
      await engine.close();
      await upstream.close();
    },
  };
}

/**
 * The authorization and cost rules a supergraph makes the gateway enforce, as text: the names
 * its `@link`s give those directives, and each application of them (see directiveApplications).
 * Read at start-up by useAuthDirectives and useCostLimits, so a reload must not change them.
 */
function enforcedDirectivesOf(supergraphSdl: string): string {
  const linked = linkedDirectiveNameIn(supergraphSdl);
  const cost = linked(COST_SPEC) ?? 'cost';
  const names = [linked(AUTHENTICATED_SPEC) ?? 'authenticated', linked(REQUIRES_SCOPES_SPEC) ?? 'requiresScopes', cost, 'listSize', `${cost}__listSize`];
  return `${names.join(' ')}\n${directiveApplications(supergraphSdl, new Set(names))}`;
}
