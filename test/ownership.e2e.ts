import { readFileSync } from 'node:fs';

import { Supergraph } from '@apollo/federation-internals';
import {
  getNamedType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  isAbstractType,
  isLeafType,
  isNonNullType,
  isObjectType,
  Kind,
  parse,
} from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createIdentitySigner, IDENTITY_HEADER } from '../lib/auth/identity-header.js';
import { anonymousPrincipal, gatewayServicePrincipal, type Principal, scopesOfRoles } from '../lib/auth/principal.js';
import { SUBGRAPH_NAMES } from '../lib/subgraph-list.js';
import { AD_HOC_API_KEY_DOCUMENTS } from './env.js';
import { type GraphQLResponse, postGraphQL, startTestPlatform, type TestPlatform } from './kit.js';
import { within } from './within.js';

/**
 * Data ownership (issue 13, item 1): every field that returns one person's data answers only
 * to that person or an admin scope, checked in the subgraph that owns it; anyone else gets
 * null with NOT_FOUND. The walkers below derive what to check from the composed supergraph,
 * so a new entity type, a new field on one, or a new root field returning someone's data is
 * covered (or fails here until it is classified) without editing this file's checks.
 */

const SUPERGRAPH_SDL = readFileSync(new URL('../supergraph.graphql', import.meta.url), 'utf8');
// `supportedFeatures: null`: the gateway enforces @authenticated/@requiresScopes itself.
const supergraph = Supergraph.build(SUPERGRAPH_SDL, { supportedFeatures: null });
const apiSchema = supergraph.apiSchema().toGraphQLJSSchema();

/** The first user's data the walkers aim at. */
interface Victim {
  userId: string;
  jobId: string;
  apiKeyId: string;
  /** A model's action held for the first user's decision. */
  actionId: string;
  invoiceId: string;
}

/** Fields of entity types that anyone may see: the key the caller supplied itself. */
const PUBLIC_FIELDS = new Set(['User.id']);
/** Types that hold no one's data (catalogues, platform-wide figures and their alerts); every other object type is someone's. */
const PUBLIC_TYPES = new Set(['Model', 'Plan', 'AutonomyLevelInfo', 'PlatformMetrics', 'BillingPeriodClosing', 'AlertConnection', 'AlertEvent']);
/** How to reference the victim's instance of each entity type (its key fields). */
const VICTIM_ENTITY: Record<string, (victim: Victim) => Record<string, unknown>> = {
  User: (victim) => ({ id: victim.userId }),
};
/**
 * Every root field that returns someone's data: `caller` when it answers only about the
 * caller (no argument can name another person), or the arguments that aim it at the victim,
 * and whether the owner (not only an admin) may use it.
 */
type RootAccess = 'caller' | { args: (victim: Victim) => Record<string, unknown>; ownerMaySee: boolean };
const ROOT_FIELDS: Record<string, RootAccess> = {
  'Query.me': 'caller',
  'Query.apiKeys': 'caller',
  // The caller's own cost budget, answered by the gateway.
  'Query.rateLimit': 'caller',
  'Query.user': { args: (victim) => ({ id: victim.userId }), ownerMaySee: false },
  'Query.inferenceJob': { args: (victim) => ({ id: victim.jobId }), ownerMaySee: true },
  'Query.inferenceJobs': 'caller',
  'Mutation.submitInference': 'caller',
  'Mutation.cancelInference': { args: (victim) => ({ id: victim.jobId }), ownerMaySee: true },
  'Subscription.inferenceEvents': { args: (victim) => ({ jobId: victim.jobId }), ownerMaySee: true },
  // A job of the caller's own: its idempotency key is the caller's (test/inference.e2e.ts: another user's run under the same key is a job of theirs).
  'Subscription.runInference': 'caller',
  'Mutation.register': 'caller',
  'Mutation.login': 'caller',
  'Mutation.refreshToken': 'caller',
  'Mutation.changePassword': 'caller',
  'Mutation.createApiKey': 'caller',
  'Mutation.revokeApiKey': { args: (victim) => ({ id: victim.apiKeyId }), ownerMaySee: true },
  // The caller's own plan, or (usage:admin) the user named by userId.
  'Mutation.changePlan': { args: (victim) => ({ planId: 'pro', userId: victim.userId }), ownerMaySee: true },
  'Subscription.usageLive': 'caller',
  'Query.autonomy': 'caller',
  'Query.pendingActions': 'caller',
  'Query.autonomyAudit': { args: (victim) => ({ userId: victim.userId }), ownerMaySee: true },
  'Mutation.setAutonomy': { args: (victim) => ({ userId: victim.userId, level: 'AGENT' }), ownerMaySee: true },
  'Mutation.clearAutonomy': { args: (victim) => ({ userId: victim.userId }), ownerMaySee: true },
  'Mutation.approveAction': { args: (victim) => ({ id: victim.actionId }), ownerMaySee: true },
  'Mutation.rejectAction': { args: (victim) => ({ id: victim.actionId }), ownerMaySee: true },
  'Query.usage': { args: (victim) => ({ userId: victim.userId, period: { start: '2026-01-01T00:00:00Z', end: '2026-02-01T00:00:00Z' } }), ownerMaySee: true },
  // One invoice: the walker selects every field three levels deep, which would price twelve over the cost ceiling.
  'Query.invoices': { args: (victim) => ({ userId: victim.userId, first: 1 }), ownerMaySee: true },
  'Query.invoice': { args: (victim) => ({ id: victim.invoiceId }), ownerMaySee: true },
};

const ENTITY_TYPES = new Set(
  [...supergraph.subgraphs().values()].flatMap((subgraph) =>
    subgraph.schema.objectTypes().filter((type) => type.hasAppliedDirective(subgraph.metadata().keyDirective())).map((type) => type.name),
  ),
);
const ROOT_TYPES = { Query: apiSchema.getQueryType(), Mutation: apiSchema.getMutationType(), Subscription: apiSchema.getSubscriptionType() };
const isOwnerScopedType = (name: string) => {
  const type = apiSchema.getType(name);
  return (isObjectType(type) || isAbstractType(type)) && !PUBLIC_TYPES.has(name) && !Object.keys(ROOT_TYPES).includes(name);
};

/** Root fields whose result is someone's data (by their return type). */
function ownerScopedRootFields(): Array<{ root: keyof typeof ROOT_TYPES; field: GraphQLField<unknown, unknown> }> {
  return Object.entries(ROOT_TYPES).flatMap(([root, type]) =>
    Object.values(type?.getFields() ?? {})
      .filter((field) => isOwnerScopedType(getNamedType(field.type).name))
      .map((field) => ({ root: root as keyof typeof ROOT_TYPES, field })),
  );
}

/** Root fields the gateway's directives refuse whatever the arguments (so FORBIDDEN there confirms nothing). */
const DIRECTIVE_GUARDED = new Set(
  parse(SUPERGRAPH_SDL).definitions.flatMap((definition) =>
    definition.kind === Kind.OBJECT_TYPE_DEFINITION && Object.keys(ROOT_TYPES).includes(definition.name.value)
      ? (definition.fields ?? [])
          .filter((field) => field.directives?.some((d) => d.name.value === 'authenticated' || d.name.value === 'requiresScopes'))
          .map((field) => `${definition.name.value}.${field.name.value}`)
      : [],
  ),
);

/**
 * Every field of `type`: leaves, and object fields `depth` levels down, each object with
 * `__typename` so the checks know what they look at. A field of an entity type that needs an
 * argument without a default cannot be walked: that fails, so it gets classified.
 */
function selectionOf(type: GraphQLObjectType, depth: number, only?: (field: string) => boolean): string {
  const parts = ['__typename'];
  for (const field of Object.values(type.getFields())) {
    if (only && !only(field.name)) continue;
    if (field.args.some((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined)) {
      if (ENTITY_TYPES.has(type.name)) throw new Error(`${type.name}.${field.name} needs arguments the ownership walker cannot invent`);
      continue;
    }
    const named = getNamedType(field.type);
    if (isLeafType(named)) parts.push(field.name);
    else if (isObjectType(named)) {
      if (depth > 0) parts.push(`${field.name} { ${selectionOf(named, depth - 1)} }`);
    } else throw new Error(`${type.name}.${field.name}: the ownership walker handles object types only, not ${named.name}`);
  }
  return parts.join(' ');
}

/** `selectionOf` for an object type, or for each possible type of an interface or union. */
function selectionOfOutput(type: GraphQLNamedType, depth: number): string {
  if (isObjectType(type)) return selectionOf(type, depth);
  if (!isAbstractType(type)) throw new Error(`the ownership walker cannot select ${type.name}`);
  return ['__typename', ...apiSchema.getPossibleTypes(type).map((possible) => `... on ${possible.name} { ${selectionOf(possible, depth)} }`)].join(' ');
}

/** Every object in `data` (depth first) with its `__typename`. */
function* objectsIn(data: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(data)) for (const item of data) yield* objectsIn(item);
  else if (data !== null && typeof data === 'object') {
    yield data as Record<string, unknown>;
    for (const value of Object.values(data)) yield* objectsIn(value);
  }
}

/** The owner's or an admin's view: every selected field of every entity object is there. */
function expectEntityFieldsPresent(data: unknown): void {
  let entities = 0;
  for (const object of objectsIn(data)) {
    if (!ENTITY_TYPES.has(String(object.__typename))) continue;
    entities += 1;
    for (const [field, value] of Object.entries(object)) expect(value, `${String(object.__typename)}.${field}`).not.toBeNull();
  }
  expect(entities).toBeGreaterThan(0);
}

const codesOf = (response: GraphQLResponse) => (response.body.errors ?? []).map((error) => error.extensions?.code);

const PRINCIPAL_DEFAULTS = { plan: 'free', sessionId: null, apiKeyId: null, clientIp: null } as const;
const userPrincipal = (userId: string, roles = ['user'], kind: 'user' | 'apiKey' = 'user'): Principal => ({
  ...PRINCIPAL_DEFAULTS,
  kind,
  userId,
  subject: `${kind}:${userId}`,
  roles,
  scopes: scopesOfRoles(roles),
});
const oidcPrincipal: Principal = {
  ...PRINCIPAL_DEFAULTS,
  kind: 'oidc',
  userId: null,
  subject: 'oidc:https://idp.example#someone',
  roles: ['user'],
  scopes: scopesOfRoles(['user']),
};

describe('data ownership: one person\'s data answers only to them or an admin', () => {
  let platform: TestPlatform;
  let victim: Victim;
  /** Strings only the victim's data contains: none may reach another caller. */
  let victimSecrets: string[];
  let asVictim: Record<string, string>;
  let asOther: Record<string, string>;
  let asOtherKey: Record<string, string>;
  let asAdmin: Record<string, string>;
  let otherUserId: string;

  const register = async (name: string) => {
    const response = await platform.query<{ register: { user: { id: string }; accessToken: string } }>(
      `mutation ($input: RegisterInput!) { register(input: $input) { user { id } accessToken } }`,
      { input: { email: `${name}@example.com`, password: 'correct horse battery staple', displayName: `${name} display` } },
    );
    expect(response.body.errors).toBeUndefined();
    return response.body.data!.register;
  };
  const createApiKey = async (accessToken: string) => {
    const response = await platform.query<{ createApiKey: { key: string; apiKey: { id: string; prefix: string } } }>(
      `mutation { createApiKey(input: { name: "ownership" }) { key apiKey { id prefix } } }`,
      undefined,
      { authorization: `Bearer ${accessToken}` },
    );
    expect(response.body.errors).toBeUndefined();
    return response.body.data!.createApiKey;
  };
  const expectNothingOfVictim = (response: GraphQLResponse) => {
    const text = JSON.stringify(response.body);
    for (const secret of victimSecrets) expect(text).not.toContain(secret);
  };

  beforeAll(async () => {
    platform = await startTestPlatform({ gatewayEnv: AD_HOC_API_KEY_DOCUMENTS });
    const ada = await register('ada-owner');
    const bob = await register('bob-other');
    otherUserId = bob.user.id;
    const adaKey = await createApiKey(ada.accessToken);
    const bobKey = await createApiKey(bob.accessToken);
    const [job] = await platform.db.query<{ id: string }>(
      `INSERT INTO inference."InferenceJob" (id, "userId", "modelId", prompt, "maxTokens", status, "autonomyLevel", output, "tokensOut")
       VALUES (gen_random_uuid(), $1, 'lotabots-tiny-cpu', 'ada-secret-prompt', 16, 'SUCCEEDED', 'EXPERT', 'ada-secret-output', 2) RETURNING id`,
      [ada.user.id],
    );
    await platform.db.query(`INSERT INTO usage."Account" ("userId", "planId", "updatedAt") VALUES ($1, 'pro', now())`, [ada.user.id]);
    await platform.db.query(
      // Added to what metering records of her operations so far (they fall in the same hour).
      `INSERT INTO usage."UsageHourly" ("userId", hour, requests, "tokensIn", "tokensOut") VALUES ($1, date_trunc('hour', now()), 7, 120, 340)
       ON CONFLICT ("userId", "apiKeyId", hour) DO UPDATE SET requests = "UsageHourly".requests + 7`,
      [ada.user.id],
    );
    const [invoice] = await platform.db.query<{ id: string }>(
      `INSERT INTO usage."Invoice" (id, "userId", "periodStart", "periodEnd", "amountCents", status, lines, "planId")
       VALUES (gen_random_uuid(), $1, '2026-01-01', '2026-02-01', 4900, 'CLOSED', '[{"kind":"BASE","description":"Pro plan","quantity":1,"unitPriceCents":4900,"amountCents":4900}]', 'pro') RETURNING id`,
      [ada.user.id],
    );
    asVictim = { authorization: `Bearer ${ada.accessToken}` };
    // Through the gateway, so the change is in the audit too.
    const setting = await platform.query(`mutation { setAutonomy(level: EXPERT) { level } }`, undefined, asVictim);
    expect(setting.body.errors).toBeUndefined();
    const [action] = await platform.db.query<{ id: string }>(
      `INSERT INTO autonomy."AutonomyAction" (id, "userId", "jobId", context, name, arguments, "proposedAt")
       VALUES (gen_random_uuid(), $1, $2, '', 'ada-secret-tool', '{}', now()) RETURNING id`,
      [ada.user.id, job!.id],
    );
    victim = { userId: ada.user.id, jobId: job!.id, apiKeyId: adaKey.apiKey.id, actionId: action!.id, invoiceId: invoice!.id };
    victimSecrets = [ada.user.id, job!.id, adaKey.apiKey.id, adaKey.apiKey.prefix, action!.id, invoice!.id, 'ada-owner', 'ada-secret-prompt', 'ada-secret-output', 'ada-secret-tool'];
    asOther = { authorization: `Bearer ${bob.accessToken}` };
    asOtherKey = { 'x-api-key': bobKey.key };
    asAdmin = { authorization: `Bearer ${await platform.tokenFor(otherUserId, { roles: ['admin'] })}` };
  });

  afterAll(() => platform?.stop());

  const ATTACK = (jobId: string) =>
    `{ inferenceJob(id:"${jobId}") { prompt output user { email inferenceJobs(first:100){prompt output} usage{requests} } } }`;

  it("regression: an anonymous caller cannot read another user's inference job or, through it, their account", async () => {
    const response = await platform.query(ATTACK(victim.jobId));
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ inferenceJob: null });
    expect(codesOf(response)).toEqual(['NOT_FOUND']);
    expectNothingOfVictim(response);
  });

  it("regression: a second user (token or API key) cannot read another user's inference job", async () => {
    for (const headers of [asOther, asOtherKey]) {
      const response = await platform.query(ATTACK(victim.jobId), undefined, headers);
      expect(response.body.data).toEqual({ inferenceJob: null });
      expect(codesOf(response)).toEqual(['NOT_FOUND']);
      expectNothingOfVictim(response);
    }
  });

  it("answers someone else's job exactly like one that does not exist", async () => {
    const missing = await platform.query(ATTACK('00000000-0000-4000-8000-000000000000'), undefined, asOther);
    const malformed = await platform.query(ATTACK('not-a-uuid'), undefined, asOther);
    const others = await platform.query(ATTACK(victim.jobId), undefined, asOther);
    for (const response of [missing, malformed]) {
      expect(response.body.data).toEqual(others.body.data);
      expect(response.body.errors?.map(({ message, extensions }) => ({ message, code: extensions?.code }))).toEqual(
        others.body.errors?.map(({ message, extensions }) => ({ message, code: extensions?.code })),
      );
    }
  });

  it('the owner and an admin still see the job and the account behind it', async () => {
    for (const headers of [asVictim, asAdmin]) {
      const response = await platform.query(ATTACK(victim.jobId), undefined, headers);
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data).toEqual({
        inferenceJob: {
          prompt: 'ada-secret-prompt',
          output: 'ada-secret-output',
          // Her own operations are metered too: at least the 7 written above.
          user: { email: 'ada-owner@example.com', inferenceJobs: [{ prompt: 'ada-secret-prompt', output: 'ada-secret-output' }], usage: { requests: expect.any(Number) } },
        },
      });
      expect(response.body.data!.inferenceJob.user.usage.requests).toBeGreaterThanOrEqual(7);
    }
  });

  it('classifies every entity type and every root field that returns someone\'s data', () => {
    expect([...ENTITY_TYPES].sort()).toEqual(Object.keys(VICTIM_ENTITY).sort());
    const unclassified = ownerScopedRootFields()
      .map(({ root, field }) => `${root}.${field.name}`)
      .filter((name) => !(name in ROOT_FIELDS));
    expect(unclassified, 'root fields returning owner-scoped types need an entry in ROOT_FIELDS').toEqual([]);
  });

  describe('through the gateway', () => {
    const targeted = () =>
      ownerScopedRootFields().flatMap(({ root, field }) => {
        const access = ROOT_FIELDS[`${root}.${field.name}`];
        return access && access !== 'caller' ? [{ root, field, access }] : [];
      });
    const operationFor = (root: string, field: GraphQLField<unknown, unknown>, args: Record<string, unknown>) => {
      const declared = field.args.filter((arg) => arg.name in args);
      const variables = declared.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
      const passed = declared.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
      const selection = selectionOfOutput(getNamedType(field.type), 3);
      return `${root.toLowerCase()}${variables ? `(${variables})` : ''} { ${field.name}${passed ? `(${passed})` : ''} { ${selection} } }`;
    };

    /** A query or mutation over HTTP; a subscription over SSE (graphql-sse), its first result. */
    const ask = async (root: string, document: string, variables: Record<string, unknown>, headers: Record<string, string>): Promise<GraphQLResponse> => {
      if (root !== 'Subscription') return platform.query(document, variables, headers);
      const client = createSseClient({ url: platform.gatewayUrl, headers, singleConnection: false, retryAttempts: 0 });
      try {
        const stream = client.iterate({ query: document, variables });
        const { value } = await within(stream.next(), 30_000, 'no first result');
        await stream.return?.();
        return { status: 200, body: (value ?? {}) as GraphQLResponse['body'] };
      } finally {
        client.dispose();
      }
    };

    it('refuses every root field aimed at the first user to a second user, their API key and an anonymous caller', async () => {
      for (const { root, field, access } of targeted()) {
        for (const [caller, headers] of Object.entries({ other: asOther, otherKey: asOtherKey, anonymous: {} })) {
          const response = await ask(root, operationFor(root, field, access.args(victim)), access.args(victim), headers);
          const where = `${root}.${field.name} as ${caller}`;
          expect(response.body.data?.[field.name] ?? null, where).toBeNull();
          const allowed = DIRECTIVE_GUARDED.has(`${root}.${field.name}`) ? ['NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN'] : ['NOT_FOUND'];
          expect(codesOf(response).length, where).toBeGreaterThan(0);
          for (const code of codesOf(response)) expect(allowed, where).toContain(code);
          expectNothingOfVictim(response);
        }
      }
      // The refused revocation, setting changes and decisions changed nothing.
      const keys = await platform.query<{ apiKeys: Array<{ id: string; revokedAt: string | null }> }>(`{ apiKeys { id revokedAt } }`, undefined, asVictim);
      expect(keys.body.data!.apiKeys).toEqual([{ id: victim.apiKeyId, revokedAt: null }]);
      const autonomy = await platform.query(`{ autonomy { level } pendingActions { edges { node { id status } } } }`, undefined, asVictim);
      expect(autonomy.body.data).toEqual({ autonomy: { level: 'EXPERT' }, pendingActions: { edges: [{ node: { id: victim.actionId, status: 'PENDING' } }] } });
    });

    it("shows every field of the first user's data to an admin, and to the owner where the field is theirs to use", async () => {
      const queries = targeted().filter(({ root }) => root === 'Query');
      expect(queries.length).toBeGreaterThan(0);
      for (const { root, field, access } of queries) {
        const callers = access.ownerMaySee ? { admin: asAdmin, owner: asVictim } : { admin: asAdmin };
        for (const [caller, headers] of Object.entries(callers)) {
          const response = await platform.query(operationFor(root, field, access.args(victim)), access.args(victim), headers);
          expect(response.body.errors, `${root}.${field.name} as ${caller}`).toBeUndefined();
          expectEntityFieldsPresent(response.body.data);
        }
      }
    });

    it("root fields about the caller show a second user their own data, never the first user's", async () => {
      const own = ownerScopedRootFields().filter(({ root, field }) => root === 'Query' && ROOT_FIELDS[`${root}.${field.name}`] === 'caller');
      for (const { root, field } of own) {
        const response = await platform.query(operationFor(root, field, {}), undefined, asOther);
        expect(response.body.errors, `${root}.${field.name}`).toBeUndefined();
        expectNothingOfVictim(response);
      }
    });
  });

  describe('in the owning subgraph, past the gateway (a validly signed identity)', () => {
    const signer = () => createIdentitySigner(platform.secrets.identitySecret);
    const others = (): Record<string, Principal> => ({
      'second user': userPrincipal(otherUserId),
      "second user's API key": userPrincipal(otherUserId, ['user'], 'apiKey'),
      'OIDC caller (owns nothing)': oidcPrincipal,
      anonymous: anonymousPrincipal(null),
      'gateway service': gatewayServicePrincipal,
    });
    const askSubgraph = async (name: string, document: string, variables: Record<string, unknown>, principal: Principal) => {
      const url = platform.subgraphUrls[name as keyof TestPlatform['subgraphUrls']];
      expect(url, `subgraph ${name}`).toBeDefined();
      return postGraphQL<Record<string, any>>(url!, document, variables, { [IDENTITY_HEADER]: await signer().sign(principal) });
    };
    /** Each subgraph that resolves fields of an entity type: the `_entities` query for the victim's instance. */
    const entityQueries = () =>
      [...supergraph.subgraphs().values()].flatMap((subgraph) => {
        const schema = subgraph.schema.toGraphQLJSSchema();
        return subgraph.schema
          .objectTypes()
          .filter((type) => type.hasAppliedDirective(subgraph.metadata().keyDirective()))
          .map((type) => {
            const external = new Set(type.fields().filter((f) => f.hasAppliedDirective(subgraph.metadata().externalDirective())).map((f) => f.name));
            const selection = selectionOf(schema.getType(type.name) as GraphQLObjectType, 2, (field) => !external.has(field));
            return {
              subgraph: subgraph.name,
              type: type.name,
              document: `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on ${type.name} { ${selection} } } }`,
              variables: { representations: [{ __typename: type.name, ...VICTIM_ENTITY[type.name]!(victim) }] },
            };
          });
      });

    it("regression: an entity reference to the first user's User reveals nothing to anyone else in any subgraph", async () => {
      const queries = entityQueries();
      expect(new Set(queries.map((q) => q.subgraph))).toEqual(new Set(SUBGRAPH_NAMES));
      for (const { subgraph, type, document, variables } of queries) {
        for (const [caller, principal] of Object.entries(others())) {
          const response = await askSubgraph(subgraph, document, variables, principal);
          const where = `${subgraph} ${type} as ${caller}`;
          expect(response.status, where).toBe(200);
          const entity = (response.body.data?._entities as unknown[] | undefined)?.[0] ?? null;
          for (const object of objectsIn(entity)) {
            for (const [field, value] of Object.entries(object)) {
              if (field !== '__typename' && !PUBLIC_FIELDS.has(`${type}.${field}`)) expect(value, `${where}: ${field}`).toBeNull();
            }
          }
          expect(codesOf(response), where).toEqual(['NOT_FOUND']);
          expectNothingOfVictim(response);
        }
      }
    });

    it("an entity reference to the first user's User answers the owner and an admin in every subgraph", async () => {
      for (const { subgraph, type, document, variables } of entityQueries()) {
        for (const [caller, principal] of Object.entries({ owner: userPrincipal(victim.userId), admin: userPrincipal(otherUserId, ['admin']) })) {
          const response = await askSubgraph(subgraph, document, variables, principal);
          expect(response.body.errors, `${subgraph} ${type} as ${caller}`).toBeUndefined();
          expectEntityFieldsPresent(response.body.data);
        }
      }
    });

    it("regression: inferenceJob asked of the inference subgraph directly refuses the first user's job to anyone else", async () => {
      const query = `query ($id: ID!) { inferenceJob(id: $id) { prompt output user { id } } }`;
      for (const [caller, principal] of Object.entries(others())) {
        const response = await askSubgraph('inference', query, { id: victim.jobId }, principal);
        expect(response.body.data, caller).toEqual({ inferenceJob: null });
        expect(codesOf(response), caller).toEqual(['NOT_FOUND']);
        expectNothingOfVictim(response);
      }
    });
  });
});
