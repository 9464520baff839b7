import { randomBytes, randomUUID } from 'node:crypto';

import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { type GraphQLSchema, parse } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga } from 'graphql-yoga';
import { exportJWK, generateKeyPair } from 'jose';
import { WebSocketServer } from 'ws';

import { gatewayEnvSchema } from '../gateway/config.js';
import { createGateway, type Gateway } from '../gateway/server.js';
import { createAccessTokenIssuer } from '../lib/auth/access-token.js';
import { createIdentitySigner, type IdentitySigner } from '../lib/auth/identity-header.js';
import { ACCESS_TOKEN_ALG } from '../lib/auth/keys.js';
import { createRevokedSessionsCache } from '../lib/auth/revocation.js';
import { systemClock } from '../lib/clock.js';
import { composeSupergraph } from '../lib/compose.js';
import { listen, type RunningServer } from '../lib/http.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { connectRedis, deleteKeysWithPrefix, type Redis } from '../lib/redis.js';
import { testEnv, UNMETERED_RATE_LIMIT_PLANS } from './env.js';

export interface AdHocSubgraph {
  name: string;
  url: string;
  typeDefs: string;
  schema: GraphQLSchema;
  /** Documents received over HTTP (queries, and SSE subscriptions), in order. */
  received: string[];
  close(): Promise<void>;
}

/**
 * A throwaway federation subgraph for gateway tests: `@apollo/subgraph` on Yoga over HTTP
 * (which also serves SSE subscriptions), plus graphql-ws on the same path.
 */
export async function startAdHocSubgraph(name: string, typeDefs: string, resolvers: unknown): Promise<AdHocSubgraph> {
  const schema = buildSubgraphSchema({ typeDefs: parse(typeDefs), resolvers: resolvers as GraphQLResolverMap<unknown> });
  const received: string[] = [];
  const yoga = createYoga({
    schema,
    logging: false,
    maskedErrors: false,
    plugins: [{ onParams: ({ params }) => void received.push(params.query ?? '') }],
  });
  const server: RunningServer = await listen(yoga, { host: '127.0.0.1', port: 0 });
  const wsServer = new WebSocketServer({ server: server.server, path: '/graphql' });
  const ws = useServer({ schema }, wsServer);
  let closed = false;
  return {
    name,
    url: `${server.url}/graphql`,
    typeDefs,
    schema,
    received,
    async close() {
      if (closed) return;
      closed = true;
      await ws.dispose();
      for (const client of wsServer.clients) client.terminate();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      await server.close(0);
    },
  };
}

export interface AdHocGateway {
  url: string;
  wsUrl: string;
  gateway: Gateway;
  redis: Redis;
  /** A bearer header for a user with these scopes. */
  bearer(scopes?: string[], options?: { userId?: string; lifetimeSeconds?: number }): Promise<Record<string, string>>;
  close(): Promise<void>;
}

/** Our real gateway over the given subgraphs, with throwaway keys and its own Redis key prefix. */
export async function startAdHocGateway(
  subgraphs: AdHocSubgraph[],
  env: Record<string, string> = {},
  options: { logger?: Logger; identity?: IdentitySigner } = {},
): Promise<AdHocGateway> {
  const supergraphSdl = composeSupergraph(subgraphs.map(({ name, url, typeDefs }) => ({ name, url, typeDefs })));
  const { privateKey, publicKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable: true });
  const keys = { keyId: 'adhoc', privateKey, publicKey, publicJwk: await exportJWK(publicKey) };
  const redis = await connectRedis({ url: testEnv.redisUrl, keyPrefix: `lotabots_test:${randomBytes(6).toString('hex')}:` });
  // No users subgraph here keeps the gateway's revocation cache; the kit mints the tokens and
  // revokes none, so it marks the cache complete as the users subgraph would after a rebuild.
  await createRevokedSessionsCache(redis).markComplete();
  const gateway = await createGateway(gatewayEnvSchema.parse({ LOG_LEVEL: testEnv.logLevel, REDIS_URL: testEnv.redisUrl, RATE_LIMIT_PLANS: UNMETERED_RATE_LIMIT_PLANS, ...env }), {
    logger: options.logger ?? createLogger({ name: 'gateway', level: testEnv.logLevel }),
    supergraphSdl,
    redis,
    clock: systemClock,
    identity: options.identity ?? createIdentitySigner(randomBytes(32)),
    keys,
  });
  const server = await listen(gateway.yoga, { host: '127.0.0.1', port: 0 });
  const webSockets = gateway.attachWebSockets(server.server);
  return {
    url: `${server.url}/graphql`,
    wsUrl: `${server.url.replace(/^http/, 'ws')}/graphql`,
    gateway,
    redis,
    async bearer(scopes = [], options = {}) {
      const issuer = createAccessTokenIssuer(keys, options.lifetimeSeconds ?? 900, () => new Date());
      const { token } = await issuer.issue({ userId: options.userId ?? randomUUID(), roles: ['user'], scopes, plan: 'free', sessionId: randomUUID() });
      return { authorization: `Bearer ${token}` };
    },
    async close() {
      await webSockets.close();
      await server.close(0);
      await gateway.close();
      redis.disconnect();
      await deleteKeysWithPrefix(testEnv.redisUrl, String(redis.options.keyPrefix));
    },
  };
}
