import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';

import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type { Tracer } from '@opentelemetry/api';
import { type DocumentNode, parse } from 'graphql';
import { GraphQLError } from 'graphql';
import { createYoga, useReadinessCheck, type YogaServerInstance } from 'graphql-yoga';
import type { Registry } from 'prom-client';

import { IDENTITY_HEADER, type IdentitySigner } from './auth/identity-header.js';
import type { Principal } from './auth/principal.js';
import { DEFAULT_SUBGRAPH_MAX_REQUEST_BODY_BYTES, useRequestBodyLimit } from './body-limit.js';
import type { Clock } from './clock.js';
import type { Database } from './db/connection.js';
import { type DocumentLimits, SUBGRAPH_DOCUMENT_LIMITS, useDocumentLimits } from './graphql-limits.js';
import { connectionPrincipalOf, serveGraphqlOverWebSocket } from './graphql-ws-server.js';
import { useHideSuggestions } from './hide-suggestions.js';
import { useIntrospectionPolicy } from './introspection.js';
import type { Logger } from './logger.js';
import { maskUnexpectedError } from './mask-error.js';
import { createMetricsRegistry, DEFAULT_METRICS_MAX_OPERATION_NAMES, useGraphqlMetrics } from './metrics.js';
import type { Redis } from './redis.js';
import { useSecurityHeaders } from './security-headers.js';
import { useTracing } from './tracing/use-tracing.js';

/** What every subgraph factory is given. Connected by the caller, who also closes them. */
export interface SubgraphDeps {
  db: Database;
  redis: Redis;
  logger: Logger;
  clock: Clock;
  /** Verifies the identity header the gateway signs; requests without a valid one are refused. */
  identity: IdentitySigner;
  /** Production hides GraphiQL, introspection and "Did you mean" hints (the gateway needs none of them). */
  production: boolean;
  /** @default DEFAULT_SUBGRAPH_MAX_REQUEST_BODY_BYTES */
  maxRequestBodyBytes?: number;
  /** Whether this subgraph should also export Node process metrics (one owner per process). */
  processMetrics?: boolean;
  /** @default SUBGRAPH_DOCUMENT_LIMITS // checked before parsing, even before the identity header is. */
  documentLimits?: DocumentLimits;
  /** @default DEFAULT_METRICS_MAX_OPERATION_NAMES // distinct operation names labelled in the metrics. */
  metricsMaxOperationNames?: number;
  /** This subgraph's tracer (lib/tracing `startTracing`); unset: tracing off, no tracing plugin at all. */
  tracer?: Tracer | undefined;
}

export interface Subgraph {
  name: string;
  typeDefs: DocumentNode;
  /** The Yoga server: a fetch handler and a Node request listener. */
  yoga: YogaServerInstance<Record<string, unknown>, object>;
  registry: Registry;
  /**
   * Serves GraphQL over WebSocket (`graphql-transport-ws`) on the same server and `/graphql`
   * path, for the gateway's subscriptions. `connection_init` must carry the gateway-signed
   * identity as `connectionParams['x-lotabots-identity']`; otherwise the socket closes with 4403.
   */
  attachWebSockets(server: Server): { close(): Promise<void> };
  /** Makes `/ready` answer 503 so load balancers stop routing here before shutdown. */
  startDraining(): void;
  /** Starts background work (queue consumers); called once by whoever runs the subgraph, after building it. */
  start(): Promise<void>;
  /** Stops background work and releases what the factory created (not the deps it was given). */
  close(): Promise<void>;
}

export interface SubgraphDefinition<Context extends object> {
  name: string;
  /** The subgraph's `schema.graphql`. */
  schemaFile: URL;
  resolvers: unknown;
  deps: SubgraphDeps;
  /** Builds the per-request context from the caller the gateway vouched for. */
  context: (principal: Principal) => Context;
  /** Background work the subgraph runs besides answering requests; never started by the factory itself. */
  start?: () => Promise<void>;
  close?: () => Promise<void>;
}

const notThroughGateway = () =>
  new GraphQLError('Requests must come through the gateway', {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
  });

/**
 * Builds a subgraph on Yoga: a federation schema from `@apollo/subgraph` served at
 * `/graphql`, `/health` (alive), `/ready` (database and Redis answer, not draining), metrics
 * in its own `registry` (served on a separate port by the caller), and unexpected errors
 * masked as INTERNAL_SERVER_ERROR and logged. Every GraphQL request must carry the gateway's
 * signed identity header, checked before its document is parsed. In production introspection
 * and "Did you mean" hints are off.
 * Subscriptions are served over SSE (`Accept: text/event-stream`, graphql-sse's distinct
 * connections mode) by Yoga itself and over WebSocket once `attachWebSockets` is called.
 */
export function createSubgraph<Context extends object>(definition: SubgraphDefinition<Context>): Subgraph {
  const { name, deps } = definition;
  const logger = deps.logger.child({ subgraph: name });
  const typeDefs = parse(readFileSync(definition.schemaFile, 'utf8'));
  const registry = createMetricsRegistry(name, { processMetrics: deps.processMetrics ?? false });
  let draining = false;
  const maxRequestBodyBytes = deps.maxRequestBodyBytes ?? DEFAULT_SUBGRAPH_MAX_REQUEST_BODY_BYTES;
  // Principals verified before parsing, for the context of the same request.
  const verifiedPrincipals = new WeakMap<Request, Principal>();
  const yoga = createYoga<Record<string, unknown>, Context>({
    schema: buildSubgraphSchema({ typeDefs, resolvers: definition.resolvers as GraphQLResolverMap<unknown> }),
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    graphiql: !deps.production,
    logging: false,
    // Only the gateway calls a subgraph; no browser page is answered (Yoga's default reflects any Origin).
    cors: false,
    context: async (initial) => {
      // A WebSocket connection verified the identity once, at connection_init.
      const principal = connectionPrincipalOf(initial) ?? verifiedPrincipals.get(initial.request);
      if (!principal) throw notThroughGateway();
      return definition.context(principal);
    },
    maskedErrors: { maskError: maskUnexpectedError(logger) },
    plugins: [
      // First, so its request span covers every other plugin. The gateway's traceparent is
      // joined: spans of this subgraph land in the trace of the client's request.
      ...(deps.tracer ? [useTracing({ tracer: deps.tracer, graphqlEndpoint: '/graphql', joinCallerTrace: true })] : []),
      useRequestBodyLimit(maxRequestBodyBytes),
      useSecurityHeaders({ credentialHeaders: [IDENTITY_HEADER] }),
      {
        // Before the document is parsed or validated: a caller without the gateway's identity
        // learns nothing about the schema, not even from a validation error's hints.
        async onRequestParse({ request }) {
          const principal = await deps.identity.verify(request.headers.get(IDENTITY_HEADER));
          if (!principal) throw notThroughGateway();
          verifiedPrincipals.set(request, principal);
        },
      },
      useIntrospectionPolicy(() => !deps.production),
      ...(deps.production ? [useHideSuggestions()] : []),
      useReadinessCheck({
        endpoint: '/ready',
        check: async () => {
          if (draining) return false;
          try {
            await Promise.all([deps.db.ping(), deps.redis.ping()]);
            return true;
          } catch (error) {
            logger.warn({ err: error }, 'readiness check failed');
            return false;
          }
        },
      }),
      useDocumentLimits(deps.documentLimits ?? SUBGRAPH_DOCUMENT_LIMITS),
      useGraphqlMetrics(registry, { maxNames: deps.metricsMaxOperationNames ?? DEFAULT_METRICS_MAX_OPERATION_NAMES }),
    ],
  });
  return {
    name,
    typeDefs,
    yoga: yoga as unknown as Subgraph['yoga'],
    registry,
    attachWebSockets: (server) =>
      serveGraphqlOverWebSocket({
        server,
        yoga: yoga as unknown as Subgraph['yoga'],
        maxPayloadBytes: maxRequestBodyBytes,
        authenticate: (connectionParams) => deps.identity.verify(stringParam(connectionParams[IDENTITY_HEADER])),
      }),
    startDraining: () => {
      draining = true;
    },
    start: async () => {
      await definition.start?.();
    },
    close: async () => {
      await definition.close?.();
    },
  };
}

const stringParam = (value: unknown) => (typeof value === 'string' ? value : null);
