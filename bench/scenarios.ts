import { randomBytes } from 'node:crypto';
import type { SubgraphName } from '../embedded/platform.js';
import { IDENTITY_HEADER, type IdentitySigner } from '../lib/auth/identity-header.js';
import { anonymousPrincipal } from '../lib/auth/principal.js';
import { expectField, postGraphQL, type GraphQLBody } from './lib/graphql.js';

/** What scenarios and micro-benchmarks may use: the running platform and the seeded data. */
export interface BenchContext {
  gatewayUrl: string;
  subgraphUrls: Record<SubgraphName, string>;
  /** Signs the identity header a subgraph requires, as the gateway does. */
  identity: IdentitySigner;
  user: { id: string; email: string; displayName: string };
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
   * headers expire after 60 s, so one window must stay shorter than that).
   */
  headers?(): Promise<Record<string, string>>;
  body: GraphQLBody;
  verify(data: unknown): void;
}

const USER_FIELDS = /* GraphQL */ `
  query BenchUser($id: ID!) {
    user(id: $id) { id email displayName }
  }
`;

const USER_ACROSS_SUBGRAPHS = /* GraphQL */ `
  query BenchUserAcrossSubgraphs($id: ID!) {
    user(id: $id) {
      id
      email
      plan { id }
      usage { requests }
      autonomy { level }
      inferenceJobs(first: 5) { id }
    }
  }
`;

export function httpScenarios(context: BenchContext): HttpScenario[] {
  const { user } = context;
  const verifyUser = (data: unknown) => {
    expectField(data, 'user.id', (v) => v === user.id, JSON.stringify(user.id));
    expectField(data, 'user.email', (v) => v === user.email, JSON.stringify(user.email));
    expectField(data, 'user.displayName', (v) => v === user.displayName, JSON.stringify(user.displayName));
  };
  return [
    {
      name: 'direct subgraph',
      baseline: true,
      url: context.subgraphUrls.users,
      // What the gateway forwards for an anonymous caller on loopback.
      headers: async () => ({ [IDENTITY_HEADER]: await context.identity.sign(anonymousPrincipal('127.0.0.1')) }),
      body: { query: USER_FIELDS, variables: { id: user.id } },
      verify: verifyUser,
    },
    {
      name: 'gateway, 1 subgraph',
      url: context.gatewayUrl,
      body: { query: USER_FIELDS, variables: { id: user.id } },
      verify: verifyUser,
    },
    {
      name: 'gateway, 4 subgraphs',
      url: context.gatewayUrl,
      body: { query: USER_ACROSS_SUBGRAPHS, variables: { id: user.id } },
      verify: (data) => {
        expectField(data, 'user.id', (v) => v === user.id, JSON.stringify(user.id));
        expectField(data, 'user.email', (v) => v === user.email, JSON.stringify(user.email));
        expectField(data, 'user.plan.id', (v) => typeof v === 'string' && v.length > 0, 'a plan id');
        expectField(data, 'user.usage.requests', (v) => Number.isInteger(v), 'an integer');
        expectField(data, 'user.autonomy.level', (v) => typeof v === 'string' && v.length > 0, 'an autonomy level');
        expectField(data, 'user.inferenceJobs', Array.isArray, 'a list');
      },
    },
  ];
}

/** Registers the one user every scenario reads, through the gateway. */
export async function seedUser(gatewayUrl: string): Promise<BenchContext['user']> {
  const suffix = randomBytes(6).toString('hex');
  const input = {
    email: `bench-${suffix}@example.com`,
    // The password policy wants 10+ characters that do not contain the email's local part.
    password: randomBytes(18).toString('base64url'),
    displayName: `Bench ${suffix}`,
  };
  const response = await postGraphQL(gatewayUrl, {
    query: 'mutation BenchSeed($input: RegisterInput!) { register(input: $input) { user { id email displayName } } }',
    variables: { input },
  });
  if (response.errors) throw new Error(`seeding the benchmark user failed: ${JSON.stringify(response.errors)}`);
  expectField(response.data, 'register.user.id', (v) => typeof v === 'string' && v.length > 0, 'an id');
  const { id, email, displayName } = (response.data as { register: { user: BenchContext['user'] } }).register.user;
  return { id, email, displayName };
}
