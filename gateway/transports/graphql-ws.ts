import type { Server } from 'node:http';
import { CloseCode, type ConnectionInitMessage } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { ExecutionArgs } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Principal } from '../../lib/auth/principal.js';
import type { Logger } from '../../lib/logger.js';
import type { Authenticator } from '../auth/authenticator.js';

/** Where a WebSocket connection's principal waits for each operation's context (see useAuth). */
export const CONNECTION_PRINCIPAL = Symbol('connectionPrincipal');

type ConnectionExtra = { principal?: Principal };

/**
 * GraphQL over WebSocket (`graphql-transport-ws`) on the gateway's `/graphql` path. The
 * client authenticates once in `connection_init` (payload `{ authorization: "Bearer …" }`
 * or `{ "x-api-key": "…" }`), with the same checks as HTTP; bad credentials close the
 * socket with 4403. Each operation then runs through Yoga's envelop (auth directives,
 * metrics, execution) with that principal.
 */
export function attachGraphqlWs(options: {
  server: Server;
  yoga: YogaServerInstance<Record<string, unknown>, Record<string, unknown>>;
  authenticator: Authenticator;
  logger: Logger;
  /** @default 3_000 // ms a client may wait before sending connection_init. */
  connectionInitWaitTimeoutMs: number;
}): { close(): Promise<void> } {
  const wsServer = new WebSocketServer({ server: options.server, path: options.yoga.graphqlEndpoint });
  const disposable = useServer<ConnectionInitMessage['payload'], ConnectionExtra>(
    {
      connectionInitWaitTimeout: options.connectionInitWaitTimeoutMs,
      async onConnect(ctx) {
        const params = ctx.connectionParams ?? {};
        const headers = new Headers();
        for (const name of ['authorization', 'x-api-key']) {
          const value = params[name] ?? params[name === 'authorization' ? 'Authorization' : 'X-Api-Key'];
          if (typeof value === 'string') headers.set(name, value);
        }
        try {
          ctx.extra.principal = await options.authenticator.authenticate(headers, ctx.extra.request.socket.remoteAddress ?? null);
          return true;
        } catch {
          ctx.extra.socket.close(CloseCode.Forbidden, 'Invalid or expired credentials');
          return false;
        }
      },
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      async onSubscribe(ctx, _id, params) {
        const enveloped = options.yoga.getEnveloped({
          request: ctx.extra.request,
          params,
          [CONNECTION_PRINCIPAL]: ctx.extra.principal,
        });
        let document;
        try {
          document = enveloped.parse(params.query);
        } catch (error) {
          return [error as import('graphql').GraphQLError];
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
  );
  return {
    async close() {
      await disposable.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}

interface EnvelopedRoot {
  execute(args: ExecutionArgs): ReturnType<typeof import('graphql').execute>;
  subscribe(args: ExecutionArgs): ReturnType<typeof import('graphql').subscribe>;
}
