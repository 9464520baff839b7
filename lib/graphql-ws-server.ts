import type { IncomingMessage, Server } from 'node:http';
import { isDeepStrictEqual } from 'node:util';

import { type ExecutionArgs, GraphQLError } from 'graphql';
import type { ConnectionInitMessage } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';

import type { Principal } from './auth/principal.js';
import { serviceUnavailable } from './errors.js';

/** RFC 6455 close code 1013: the server cannot take the connection now; retry later. */
const TRY_AGAIN_LATER = 1013;

/** The error an operation gets when its credential could not be checked: the thrown one, minus HTTP hints. */
function undecidedError(error: unknown): GraphQLError {
  if (!(error instanceof GraphQLError) || !error.extensions.code) return serviceUnavailable('Cannot check credentials right now; retry shortly');
  const { http: _http, ...extensions } = error.extensions;
  return new GraphQLError(error.message, { extensions });
}

/**
 * Where a WebSocket connection's principal is handed to each operation's context: a symbol,
 * so nothing a client sends over HTTP can set it.
 */
export const CONNECTION_PRINCIPAL = Symbol('connectionPrincipal');

/** The principal a WebSocket operation runs as, or undefined for an HTTP request. */
export function connectionPrincipalOf(context: object): Principal | undefined {
  return (context as Record<symbol, Principal | undefined>)[CONNECTION_PRINCIPAL];
}

/**
 * Where a WebSocket operation's context carries its headers (its `traceparent`, for one): its
 * connection's `connection_init` payload, overridden by the operation's own
 * `extensions.headers`, which is how the gateway sends each subscription's trace context and
 * request id over an upstream connection that several subscriptions share.
 */
const CONNECTION_PARAMS = Symbol('connectionParams');

/** A WebSocket operation's headers (see CONNECTION_PARAMS), or undefined for an HTTP request. */
export function connectionParamsOf(context: object): Readonly<Record<string, unknown>> | undefined {
  return (context as Record<symbol, Readonly<Record<string, unknown>> | undefined>)[CONNECTION_PARAMS];
}

export interface GraphqlWsOptions {
  server: Server;
  /** Serves on its `graphqlEndpoint` path; operations run through its envelop. */
  yoga: YogaServerInstance<Record<string, unknown>, object>;
  /**
   * Who the connection acts for, from the `connection_init` payload. `null` refuses the
   * connection: the socket closes with 4403 (Forbidden) before any operation. Throwing means
   * it cannot be decided now (a dependency is down): the socket closes with 1013 (Try Again
   * Later), which clients retry, rather than 4403, which they take for bad credentials; for
   * an operation (`authenticateEachOperation`), the thrown GraphQL error is its answer.
   */
  authenticate(connectionParams: Readonly<Record<string, unknown>>, request: IncomingMessage): Promise<Principal | null>;
  /** @default 3_000 // ms a client may wait before sending connection_init (then 4408). */
  connectionInitWaitTimeoutMs?: number;
  /**
   * Authenticate every operation again with the connection's `connection_init` payload, so a
   * token that expired or was revoked since the socket opened stops working on it too
   * (UNAUTHENTICATED for that operation). Off for subgraphs, whose gateway-signed identity
   * is deliberately short-lived and checked at connect.
   */
  authenticateEachOperation?: boolean;
  /**
   * Largest message a client may send; a larger one closes the socket with 1009 (Message Too
   * Big) before it is parsed. The same limit as an HTTP request body (ws's own default is 100 MiB).
   */
  maxPayloadBytes: number;
  /**
   * @default 12_000 // ms between pings; a socket that has not answered the previous ping by
   * the next is terminated, so half-open connections (a phone that vanished) are freed.
   */
  keepAliveMs?: number;
  /**
   * What Yoga's `onParams` hooks do for HTTP (they do not run here): the params to run, from
   * those the client sent (persisted queries resolve a documentId or hash to its query). A
   * thrown GraphQL error is the operation's answer.
   */
  resolveParams?<P extends object>(params: P): Promise<P>;
}

type ConnectionExtra = { principal?: Principal };

/**
 * GraphQL over WebSocket (`graphql-transport-ws`, the graphql-ws protocol) on an HTTP server
 * that already serves Yoga. The connection authenticates once, at `connection_init`; each
 * operation then runs through Yoga's envelop (`getEnveloped`: parse and validation caches,
 * error masking, metrics, the schema's resolvers) with the principal in its context, which
 * the Yoga `context` factory reads with `connectionPrincipalOf`.
 * Yoga's `onParams` hooks do not run here (they belong to the HTTP pipeline): `resolveParams` stands in.
 */
export function serveGraphqlOverWebSocket(options: GraphqlWsOptions): { close(): Promise<void> } {
  const { yoga } = options;
  const wsServer = new WebSocketServer({ server: options.server, path: yoga.graphqlEndpoint, maxPayload: options.maxPayloadBytes });
  const disposable = useServer<ConnectionInitMessage['payload'], ConnectionExtra>(
    {
      connectionInitWaitTimeout: options.connectionInitWaitTimeoutMs ?? 3_000,
      async onConnect(ctx) {
        let principal: Principal | null;
        try {
          principal = await options.authenticate(ctx.connectionParams ?? {}, ctx.extra.request);
        } catch {
          // graphql-ws then tries 4403 on a socket already closing, which ws ignores.
          ctx.extra.socket.close(TRY_AGAIN_LATER, 'Try again later');
          return false;
        }
        if (!principal) return false;
        ctx.extra.principal = principal;
        return true;
      },
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      async onSubscribe(ctx, _id, params) {
        if (options.authenticateEachOperation) {
          let principal: Principal | null;
          try {
            principal = await options.authenticate(ctx.connectionParams ?? {}, ctx.extra.request);
          } catch (error) {
            return [undecidedError(error)];
          }
          if (!principal) return [new GraphQLError('Invalid or expired credentials', { extensions: { code: 'UNAUTHENTICATED' } })];
          // The same object while nothing changed, so what is kept per principal (its signed
          // identity header) is shared by every operation of the connection.
          if (!isDeepStrictEqual(principal, ctx.extra.principal)) ctx.extra.principal = principal;
        }
        if (options.resolveParams) {
          try {
            params = await options.resolveParams(params);
          } catch (error) {
            return [error instanceof GraphQLError ? error : serviceUnavailable('Cannot resolve the operation right now; retry shortly')];
          }
        }
        const enveloped = yoga.getEnveloped({
          request: ctx.extra.request,
          params,
          [CONNECTION_PRINCIPAL]: ctx.extra.principal,
          [CONNECTION_PARAMS]: { ...ctx.connectionParams, ...headersOf(params.extensions) },
        });
        let document;
        try {
          document = enveloped.parse(params.query);
        } catch (error) {
          return [error instanceof GraphQLError ? error : new GraphQLError('Syntax error', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
        }
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) return errors;
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          document,
          operationName: params.operationName,
          variableValues: params.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
        return args;
      },
    },
    wsServer,
    options.keepAliveMs ?? 12_000,
  );
  return {
    // Closes every socket (1001, going away), which ends their subscriptions, then the server.
    close: async () => {
      await disposable.dispose();
    },
  };
}

/** An operation's `extensions.headers`: string values only. */
function headersOf(extensions: Readonly<Record<string, unknown>> | null | undefined): Record<string, string> {
  const headers = extensions?.['headers'];
  if (typeof headers !== 'object' || headers === null) return {};
  return Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

interface EnvelopedRoot {
  execute(args: ExecutionArgs): ReturnType<typeof import('graphql').execute>;
  subscribe(args: ExecutionArgs): ReturnType<typeof import('graphql').subscribe>;
}
