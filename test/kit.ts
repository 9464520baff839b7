import { randomBytes, randomUUID } from 'node:crypto';

import { exportJWK, generateKeyPair } from 'jose';
import pg from 'pg';
import { expect } from 'vitest';

import type { PlatformSecrets } from '../embedded/platform.js';
import { type RunningPlatform, startPlatform } from '../embedded/platform.js';
import { createAccessTokenIssuer } from '../lib/auth/access-token.js';
import { ACCESS_TOKEN_ALG, type SigningKeys } from '../lib/auth/keys.js';
import { scopesOfRoles } from '../lib/auth/principal.js';
import { deleteKeysWithPrefix } from '../lib/redis.js';
import type { TracingSettings } from '../lib/tracing/config.js';
import type { InferenceConfig } from '../subgraphs/inference/config.js';
import type { UsageConfig } from '../subgraphs/usage/config.js';
import type { UsersConfig } from '../subgraphs/users/config.js';
import type { WorkerConfig } from '../worker/config.js';
import { testEnv, UNMETERED_RATE_LIMIT_PLANS } from './env.js';

/** Fresh keys per test file: nothing is read from or written to disk. */
export async function testSecrets(): Promise<PlatformSecrets & { signingKeys: SigningKeys }> {
  const { privateKey, publicKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable: true });
  const keyId = `test-${randomBytes(4).toString('hex')}`;
  return {
    // Text, as IDENTITY_SIGNING_SECRET carries it, so a gateway process can be given the same secret.
    identitySecret: new TextEncoder().encode(randomBytes(32).toString('base64url')),
    signingKeys: { keyId, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid: keyId, alg: ACCESS_TOKEN_ALG, use: 'sig' } },
  };
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database on the real PostgreSQL, for one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  // The creation time in the name lets a later run tell an abandoned database from a live one.
  const name = `lotabots_test_${Math.floor(Date.now() / 1000)}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: testEnv.adminDatabaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(testEnv.adminDatabaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: testEnv.adminDatabaseUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A gateway response body as it comes back: with the `extensions.cost` every priced operation carries. */
export const withCost = <T extends object>(body: T) => ({ ...body, extensions: { cost: expect.objectContaining({ requestedQueryCost: expect.any(Number) }) } });

export interface GraphQLResponse<Data = Record<string, any>> {
  status: number;
  body: { data?: Data | null; errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, any> }> };
}

export interface TestPlatform extends RunningPlatform {
  /** The keys and identity secret this platform was started with (to mint tokens in tests). */
  secrets: PlatformSecrets & { signingKeys: SigningKeys };
  /** The platform's PostgreSQL database (a test may lock a table to make real requests slow). */
  databaseUrl: string;
  /** An access token for `userId`, signed with this platform's key (default role: user). */
  tokenFor(userId: string, claims?: { roles?: string[]; scopes?: string[]; sessionId?: string }): Promise<string>;
  /** POSTs one operation to the gateway. */
  query<Data = Record<string, any>>(document: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse<Data>>;
}

/**
 * The real platform for one test file: its own PostgreSQL database (migrated), real Redis
 * under its own key prefix, every subgraph, the worker and the gateway on ephemeral ports.
 * `stop()` shuts everything down, deletes the Redis keys and drops the database.
 */
export async function startTestPlatform(
  options: {
    users?: Partial<UsersConfig>;
    usage?: Partial<UsageConfig>;
    inference?: Partial<InferenceConfig>;
    /** @default true // false: no worker; the test drives jobs itself or starts its own. */
    startWorker?: boolean;
    /** The platform's worker's settings over its defaults (its backend, say). */
    worker?: Partial<WorkerConfig>;
    /** OpenTelemetry settings for every service (off by default). */
    tracing?: TracingSettings;
    gatewayEnv?: Record<string, string>;
    /** A Redis of the test's own (one it stops and restarts); the shared one by default. */
    redisUrl?: string;
  } = {},
): Promise<TestPlatform> {
  const redisUrl = options.redisUrl ?? testEnv.redisUrl;
  const database = await createTestDatabase();
  const redisKeyPrefix = `lotabots_test:${randomBytes(6).toString('hex')}:`;
  let platform: RunningPlatform;
  const secrets = await testSecrets();
  try {
    platform = await startPlatform({
      host: '127.0.0.1',
      ports: { gateway: 0, users: 0, inference: 0, usage: 0, autonomy: 0, worker: 0, metrics: 0 },
      databaseUrl: database.url,
      embeddedDataDir: 'memory://',
      redisUrl,
      redisKeyPrefix,
      logLevel: testEnv.logLevel,
      secrets,
      users: options.users,
      usage: options.usage,
      inference: options.inference,
      startWorker: options.startWorker,
      worker: options.worker,
      tracing: options.tracing,
      gatewayEnv: { RATE_LIMIT_PLANS: UNMETERED_RATE_LIMIT_PLANS, ...options.gatewayEnv },
    });
  } catch (error) {
    await database.drop();
    throw error;
  }
  return {
    ...platform,
    secrets,
    databaseUrl: database.url,
    tokenFor: async (userId, claims = {}) => {
      const roles = claims.roles ?? ['user'];
      const issuer = createAccessTokenIssuer(secrets.signingKeys, 900, () => new Date());
      const { token } = await issuer.issue({
        userId,
        roles,
        scopes: claims.scopes ?? scopesOfRoles(roles),
        plan: 'free',
        sessionId: claims.sessionId ?? randomUUID(),
      });
      return token;
    },
    query: (document, variables, headers) => postGraphQL(platform.gatewayUrl, document, variables, headers),
    async stop() {
      await platform.stop();
      await deleteKeysWithPrefix(redisUrl, redisKeyPrefix);
      await database.drop();
    },
  };
}

export async function postGraphQL<Data>(
  url: string,
  document: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<Data>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify({ query: document, variables }),
  });
  return { status: response.status, body: (await response.json()) as GraphQLResponse<Data>['body'] };
}
