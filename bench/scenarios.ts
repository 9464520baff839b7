import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { decodeJwt } from 'jose';

import type { SubgraphName } from '../embedded/platform.js';
import { createAccessTokenIssuer } from '../lib/auth/access-token.js';
import { IDENTITY_HEADER, type IdentitySigner } from '../lib/auth/identity-header.js';
import type { SigningKeys } from '../lib/auth/keys.js';
import { type Principal, scopesOfRoles } from '../lib/auth/principal.js';
import { expectField, type GraphQLBody, postGraphQL } from './lib/graphql.js';
import type { BenchSecrets } from './lib/platform.js';

/** What scenarios and micro-benchmarks may use: the running platform and the seeded data. */
export interface BenchContext {
  gatewayUrl: string;
  subgraphUrls: Record<SubgraphName, string>;
  /** Signs the identity header a subgraph requires, as the gateway does. */
  identity: IdentitySigner;
  /** The platform's secrets in configuration form (a separately started gateway takes them). */
  secrets: BenchSecrets;
  /** The platform's access-token keys: the public one verifies tokens, the private one mints them as the users subgraph does. */
  keys: SigningKeys;
  /** The platform's Redis (`url` undefined in embedded mode) and key prefix. */
  redis: { url: string | undefined; keyPrefix: string };
  user: BenchUser;
  /** The seeded user's session: a valid access token whenever asked. */
  session: BenchSession;
  /** An API key of the seeded user (default scopes), for `x-api-key`. */
  apiKey: string;
}

export interface BenchUser {
  id: string;
  email: string;
  displayName: string;
}

export interface BenchSession {
  /**
   * An access token with at least `minRemainingS` (default REFRESH_MARGIN_S) of life left:
   * the current one, or a new one from `refreshToken` (which rotates the refresh token;
   * calls are serialised). Rejects when even a new token would not live that long.
   */
  accessToken(minRemainingS?: number): Promise<string>;
  /** The principal the gateway makes of `token` and forwards to subgraphs (what `createAuthenticator` builds). */
  principalOf(token: string): Principal;
}

/**
 * One row of the HTTP table: the same request sent by every connection for the whole window.
 * Add a row by adding an entry to `httpScenarios`; `verify` runs on a single response before
 * and after measuring and must throw unless the data is what the scenario is meant to fetch.
 */
export interface HttpScenario {
  name: string;
  /** The row every other row's req/s is divided by. Exactly one scenario sets it. */
  baseline?: true;
  url: string;
  /**
   * Extra request headers, made afresh before each window and each check (signed identity
   * headers expire after 60 s and access tokens after 15 min, so one window must stay
   * shorter than a minute).
   */
  headers?(): Promise<Record<string, string>>;
  body: GraphQLBody;
  verify(data: unknown): void;
}

/**
 * A window (warm-up + measured, at most 50 + 50 s) must not outlive the token it starts with.
 * @default 150 // s
 */
const REFRESH_MARGIN_S = 150;

const ME_FIELDS = /* GraphQL */ `
  query BenchMe {
    me { id email displayName }
  }
`;

const ME_ACROSS_SUBGRAPHS = /* GraphQL */ `
  query BenchMeAcrossSubgraphs {
    me {
      id
      email
      plan { id }
      usage { requests }
      autonomy { level }
      inferenceJobs(first: 5) { id }
    }
  }
`;

/**
 * A public field (no directive): what authentication alone costs shows against the anonymous
 * row. The partner example `Models`, sent by its id: partner API keys run only trusted documents.
 */
const PUBLIC_MODELS = { documentId: trustedDocumentId('Models') };

function trustedDocumentId(name: string): string {
  const manifest = JSON.parse(readFileSync(new URL('../clients/persisted-documents.json', import.meta.url), 'utf8')) as { operations: Array<{ id: string; name: string }> };
  const operation = manifest.operations.find((entry) => entry.name === name);
  if (!operation) throw new Error(`clients/persisted-documents.json has no operation ${name}`);
  return operation.id;
}

/** Names of the rows `httpNotes` compares. */
const AUTH_ROWS = {
  anonymous: 'gateway, public query, anonymous',
  jwt: 'gateway, public query, JWT',
  apiKey: 'gateway, public query, API key',
} as const;

export function httpScenarios(context: BenchContext): HttpScenario[] {
  const { user, session } = context;
  const verifyMe = (data: unknown) => {
    expectField(data, 'me.id', (v) => v === user.id, JSON.stringify(user.id));
    expectField(data, 'me.email', (v) => v === user.email, JSON.stringify(user.email));
    expectField(data, 'me.displayName', (v) => v === user.displayName, JSON.stringify(user.displayName));
  };
  const verifyModels = (data: unknown) =>
    expectField(data, 'models', (v) => Array.isArray(v) && v.length > 0 && v.every((m) => typeof (m as { id?: unknown }).id === 'string'), 'a non-empty list of models');
  const bearer = async () => ({ authorization: `Bearer ${await session.accessToken()}` });
  return [
    {
      name: 'direct subgraph',
      baseline: true,
      url: context.subgraphUrls.users,
      // What the gateway forwards for this user's access token.
      headers: async () => ({ [IDENTITY_HEADER]: await context.identity.sign(session.principalOf(await session.accessToken())) }),
      body: { query: ME_FIELDS },
      verify: verifyMe,
    },
    {
      name: 'gateway, 1 subgraph',
      url: context.gatewayUrl,
      headers: bearer,
      body: { query: ME_FIELDS },
      verify: verifyMe,
    },
    {
      name: 'gateway, 4 subgraphs',
      url: context.gatewayUrl,
      headers: bearer,
      body: { query: ME_ACROSS_SUBGRAPHS },
      verify: (data) => {
        expectField(data, 'me.id', (v) => v === user.id, JSON.stringify(user.id));
        expectField(data, 'me.email', (v) => v === user.email, JSON.stringify(user.email));
        expectField(data, 'me.plan.id', (v) => typeof v === 'string' && v.length > 0, 'a plan id');
        expectField(data, 'me.usage.requests', (v) => Number.isInteger(v), 'an integer');
        expectField(data, 'me.autonomy.level', (v) => typeof v === 'string' && v.length > 0, 'an autonomy level');
        expectField(data, 'me.inferenceJobs', Array.isArray, 'a list');
      },
    },
    { name: AUTH_ROWS.anonymous, url: context.gatewayUrl, body: PUBLIC_MODELS, verify: verifyModels },
    { name: AUTH_ROWS.jwt, url: context.gatewayUrl, headers: bearer, body: PUBLIC_MODELS, verify: verifyModels },
    {
      name: AUTH_ROWS.apiKey,
      url: context.gatewayUrl,
      headers: async () => ({ 'x-api-key': context.apiKey }),
      body: PUBLIC_MODELS,
      verify: verifyModels,
    },
  ];
}

/**
 * Lines printed under the HTTP table, from the rows' median req/s. "auth overhead" is the
 * anonymous row's req/s ÷ the authenticated row's: 1.10 means an authenticated request costs
 * the platform 10 % more than the same request without credentials.
 */
export function httpNotes(reqPerSec: ReadonlyMap<string, number>): string[] {
  const anonymous = reqPerSec.get(AUTH_ROWS.anonymous);
  const jwt = reqPerSec.get(AUTH_ROWS.jwt);
  const apiKey = reqPerSec.get(AUTH_ROWS.apiKey);
  if (anonymous === undefined || jwt === undefined || apiKey === undefined) return [];
  const overhead = (value: number) => (value > 0 ? (anonymous / value).toFixed(2) : 'n/a');
  return [`auth overhead vs anonymous (anonymous req/s ÷ row req/s): JWT ${overhead(jwt)}, API key ${overhead(apiKey)}`];
}

interface Tokens {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
}

const TOKENS = 'accessToken accessTokenExpiresAt refreshToken';

/**
 * Registers the one user every scenario reads, through the gateway, moves it to the enterprise
 * plan and creates an API key for it. Registering signs the user in; the session renews its access token with
 * `refreshToken` (login is rate-limited to a few per account and minute, refresh is not).
 */
export async function seedUser(gatewayUrl: string, keys: SigningKeys): Promise<{ user: BenchUser; session: BenchSession; apiKey: string }> {
  const suffix = randomBytes(6).toString('hex');
  const input = {
    email: `bench-${suffix}@example.com`,
    // The password policy wants 10+ characters that do not contain the email's local part.
    password: randomBytes(18).toString('base64url'),
    displayName: `Bench ${suffix}`,
  };
  const registered = await postGraphQL(gatewayUrl, {
    query: `mutation BenchSeed($input: RegisterInput!) { register(input: $input) { ${TOKENS} user { id email displayName } } }`,
    variables: { input },
  });
  if (registered.errors) throw new Error(`seeding the benchmark user failed: ${JSON.stringify(registered.errors)}`);
  expectField(registered.data, 'register.user.id', (v) => typeof v === 'string' && v.length > 0, 'an id');
  expectField(registered.data, 'register.accessToken', (v) => typeof v === 'string' && v.length > 0, 'an access token');
  const { user, ...tokens } = (registered.data as { register: Tokens & { user: BenchUser } }).register;
  // Enterprise, whose monthly quotas are soft: a run sends far more than the free plan's hard
  // 100,000 requests a month, which would turn the later windows into 429s. The tokens issued
  // after the change carry the new tier, which is what a benchmark gateway with a Redis key
  // prefix of its own (and so no published tier) goes by.
  const moved = await postGraphQL(
    gatewayUrl,
    { query: 'mutation BenchPlan { changePlan(planId: "enterprise") { plan { id } } }' },
    { authorization: `Bearer ${tokens.accessToken}` },
  );
  if (moved.errors) throw new Error(`moving the benchmark user to the enterprise plan failed: ${JSON.stringify(moved.errors)}`);
  await widenPlanBudgets(gatewayUrl, keys);
  const session = createSession(gatewayUrl, await refreshedTokens(gatewayUrl, tokens));

  const created = await postGraphQL(
    gatewayUrl,
    { query: 'mutation BenchApiKey { createApiKey(input: { name: "bench" }) { key } }' },
    { authorization: `Bearer ${await session.accessToken()}` },
  );
  if (created.errors) throw new Error(`creating the benchmark API key failed: ${JSON.stringify(created.errors)}`);
  expectField(created.data, 'createApiKey.key', (v) => typeof v === 'string' && v.length > 0, 'an API key');
  const apiKey = (created.data as { createApiKey: { key: string } }).createApiKey.key;
  return { user: { id: user.id, email: user.email, displayName: user.displayName }, session, apiKey };
}

/**
 * The largest budgets updatePlan takes, for every plan of the catalogue. Once the usage subgraph
 * has published its catalogue (changePlan does), the platform's gateway takes the plans' limits
 * from it, not from its RATE_LIMIT_PLANS (GENEROUS_RATE_LIMIT_PLANS): without this, the reference
 * budgets (free 1,000, enterprise 20,000 a caller) refuse the benchmark's load with 429s.
 */
async function widenPlanBudgets(gatewayUrl: string, keys: SigningKeys): Promise<void> {
  const issuer = createAccessTokenIssuer(keys, 300, () => new Date());
  const { token } = await issuer.issue({ userId: randomUUID(), roles: ['admin'], scopes: scopesOfRoles(['admin']), plan: 'enterprise', sessionId: randomUUID() });
  const most = 100_000_000;
  for (const id of ['free', 'pro', 'enterprise']) {
    const widened = await postGraphQL(
      gatewayUrl,
      {
        query: 'mutation BenchWidenPlan($id: ID!, $input: UpdatePlanInput!) { updatePlan(id: $id, input: $input) { id } }',
        variables: { id, input: { bucketSize: most, restorePerSecond: most, requestsPerWindow: most } },
      },
      { authorization: `Bearer ${token}` },
    );
    if (widened.errors) throw new Error(`widening the ${id} plan's budget failed: ${JSON.stringify(widened.errors)}`);
  }
}

/** New tokens from `refreshToken` (which rotates the refresh token). */
async function refreshedTokens(gatewayUrl: string, tokens: Tokens): Promise<Tokens> {
  const response = await postGraphQL(gatewayUrl, {
    query: `mutation BenchRefresh($refreshToken: String!) { refreshToken(refreshToken: $refreshToken) { ${TOKENS} } }`,
    variables: { refreshToken: tokens.refreshToken },
  });
  if (response.errors) throw new Error(`refreshing the benchmark user's access token failed: ${JSON.stringify(response.errors)}`);
  return (response.data as { refreshToken: Tokens }).refreshToken;
}

function createSession(gatewayUrl: string, initial: Tokens): BenchSession {
  let current = initial;
  let refreshing: Promise<void> | null = null;
  const refresh = async () => {
    current = await refreshedTokens(gatewayUrl, current);
  };
  return {
    async accessToken(minRemainingS = REFRESH_MARGIN_S) {
      const fresh = () => Date.parse(current.accessTokenExpiresAt) - Date.now() >= minRemainingS * 1_000;
      if (fresh()) return current.accessToken;
      refreshing ??= refresh().finally(() => {
        refreshing = null;
      });
      await refreshing;
      if (!fresh()) throw new Error(`access tokens live less than the ${minRemainingS} s the benchmark needs one to`);
      return current.accessToken;
    },
    principalOf(token) {
      const claims = decodeJwt(token) as { sub: string; roles: string[]; scope: string; plan: string; sid: string; exp: number };
      return {
        kind: 'user',
        userId: claims.sub,
        subject: `user:${claims.sub}`,
        roles: claims.roles,
        scopes: claims.scope.split(' ').filter(Boolean),
        plan: claims.plan,
        sessionId: claims.sid,
        apiKeyId: null,
        clientIp: '127.0.0.1',
        credentialExpiresAt: new Date(claims.exp * 1000).toISOString(),
      };
    },
  };
}
