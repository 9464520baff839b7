import type { Server } from 'node:http';

import { GraphQLError } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';

import { type GraphqlWsOptions, serveGraphqlOverWebSocket } from '../../lib/graphql-ws-server.js';
import type { Logger } from '../../lib/logger.js';
import type { Authenticator } from '../auth/authenticator.js';
import { clientIp } from '../auth/client-ip.js';

/** The connection_init payload keys that carry a credential, as HTTP header names. */
const CREDENTIAL_PARAMS: Record<string, string> = {
  authorization: 'authorization',
  Authorization: 'authorization',
  'x-api-key': 'x-api-key',
  'X-Api-Key': 'x-api-key',
};

/**
 * GraphQL over WebSocket (`graphql-transport-ws`) on the gateway's `/graphql` path. The
 * client authenticates once in `connection_init` (payload `{ authorization: "Bearer …" }`
 * or `{ "x-api-key": "…" }`) with the same checks as HTTP; bad credentials close the socket
 * with 4403, credentials that cannot be checked now (Redis or the users subgraph down) with
 * 1013 (try again later). Every operation re-checks that credential (an expired or revoked
 * one gets UNAUTHENTICATED, one that cannot be checked SERVICE_UNAVAILABLE) and runs through
 * Yoga's envelop (auth directives, metrics, execution, subscriptions) with that principal.
 */
export function attachGraphqlWs(options: {
  server: Server;
  yoga: YogaServerInstance<Record<string, unknown>, Record<string, unknown>>;
  authenticator: Authenticator;
  logger: Logger;
  connectionInitWaitTimeoutMs: number;
  keepAliveMs: number;
  /** As for HTTP: how many proxies' X-Forwarded-For entries to trust for the client IP. */
  trustedProxyHops: number;
  maxPayloadBytes: number;
  /** Resolves persisted queries (documentId, APQ) as the HTTP `onParams` hook does. */
  resolveParams: GraphqlWsOptions['resolveParams'];
}): { close(): Promise<void> } {
  return serveGraphqlOverWebSocket({
    server: options.server,
    yoga: options.yoga,
    maxPayloadBytes: options.maxPayloadBytes,
    connectionInitWaitTimeoutMs: options.connectionInitWaitTimeoutMs,
    keepAliveMs: options.keepAliveMs,
    authenticateEachOperation: true,
    resolveParams: options.resolveParams,
    async authenticate(connectionParams, request) {
      const headers = new Headers();
      for (const [param, header] of Object.entries(CREDENTIAL_PARAMS)) {
        const value = connectionParams[param];
        if (typeof value === 'string') headers.set(header, value);
      }
      try {
        // The upgrade request carries the proxies' X-Forwarded-For like any HTTP request.
        const ip = clientIp(request.headers['x-forwarded-for'], request.socket.remoteAddress, options.trustedProxyHops);
        return await options.authenticator.authenticate(headers, ip);
      } catch (error) {
        // Anything but a verdict on the credential (a dependency down, too many failures) is rethrown: retry later.
        if (!(error instanceof GraphQLError) || error.extensions.code !== 'UNAUTHENTICATED') throw error;
        options.logger.info('WebSocket credential rejected');
        return null;
      }
    },
  });
}
