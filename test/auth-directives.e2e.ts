import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { type AdHocGateway, type AdHocSubgraph, startAdHocGateway, startAdHocSubgraph } from './gateway-kit.js';
import { withCost } from './kit.js';

// The real gateway (createGateway) over two small subgraphs on real HTTP ports, composed on
// the fly; principals are real access tokens with chosen scopes.

const FEDERATION_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@authenticated", "@requiresScopes"])';

const accountsSdl = /* GraphQL */ `
  ${FEDERATION_LINK}
  type Query {
    publicInfo: String
    me: User @authenticated
    user(id: ID!): User @requiresScopes(scopes: [["users:read"]])
    users: [User!]!
    maybeUsers: [User]
    account: Account
    vault: Vault
    search: [SearchResult!]!
    nodes: [Node!]!
    secretCount: Int! @authenticated
    viewer: Viewer!
  }
  type Viewer {
    name: String
    badge: String! @authenticated
  }
  type Mutation {
    publicPing: Boolean
    resetEverything: Boolean @requiresScopes(scopes: [["admin"]])
  }
  type Subscription {
    alerts: String @authenticated
  }
  type User @key(fields: "id") {
    id: ID!
    name: String
    email: String @requiresScopes(scopes: [["users:read", "users:email"], ["admin"]])
    internalNote: String! @authenticated
  }
  type Account {
    id: ID!
    owner: Owner
  }
  type Owner {
    name: String
    token: String! @requiresScopes(scopes: [["tokens:read"]])
  }
  "Every field of a vault needs a signed-in caller."
  type Vault @authenticated {
    id: ID!
    contents: String
  }
  union SearchResult = Book | Vault
  interface Node {
    id: ID!
  }
  type Book implements Node {
    id: ID!
    title: String
    isbn: String @requiresScopes(scopes: [["books:isbn"]])
  }
  type Film implements Node {
    id: ID!
    title: String
    isbn: String
  }
`;

const billingSdl = /* GraphQL */ `
  ${FEDERATION_LINK}
  type Query {
    invoiceTotal: Int
  }
  type User @key(fields: "id") {
    id: ID!
    plan: String @requiresScopes(scopes: [["billing:read"]])
  }
`;

const ada = { id: 'u1', name: 'Ada', email: 'ada@example.com', internalNote: 'vip' };
const bob = { id: 'u2', name: 'Bob', email: 'bob@example.com', internalNote: 'new' };

let resetCalls = 0;
const accountsResolvers = {
  Query: {
    publicInfo: () => 'hello',
    me: () => ada,
    user: (_: unknown, { id }: { id: string }) => [ada, bob].find((u) => u.id === id) ?? null,
    users: () => [ada, bob],
    maybeUsers: () => [ada, bob],
    account: () => ({ id: 'a1', owner: { name: 'Ada', token: 't0k3n' } }),
    vault: () => ({ id: 'v1', contents: 'gold' }),
    search: () => [
      { __typename: 'Book', id: 'b1', title: 'Dune' },
      { __typename: 'Vault', id: 'v1', contents: 'gold' },
    ],
    nodes: () => [
      { __typename: 'Book', id: 'b1', title: 'Dune', isbn: '978-0441013593' },
      { __typename: 'Film', id: 'f1', title: 'Alien', isbn: 'film-isbn' },
    ],
    secretCount: () => 42,
    viewer: () => ({ name: 'Ada', badge: 'gold' }),
  },
  Mutation: {
    publicPing: () => true,
    resetEverything: () => {
      resetCalls++;
      return true;
    },
  },
  Subscription: {
    alerts: {
      async *subscribe() {
        yield { alerts: 'ring' };
      },
    },
  },
  User: { __resolveReference: (ref: { id: string }) => [ada, bob].find((u) => u.id === ref.id) ?? null },
  SearchResult: { __resolveType: (value: { __typename: string }) => value.__typename },
  Node: { __resolveType: (value: { __typename: string }) => value.__typename },
};

const billingResolvers = {
  Query: { invoiceTotal: () => 7 },
  User: {
    __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
    plan: () => 'pro',
  },
};

let accounts: AdHocSubgraph;
let billing: AdHocSubgraph;
let gateway: AdHocGateway;

beforeAll(async () => {
  accounts = await startAdHocSubgraph('accounts', accountsSdl, accountsResolvers);
  billing = await startAdHocSubgraph('billing', billingSdl, billingResolvers);
  gateway = await startAdHocGateway([accounts, billing]);
});

afterAll(async () => {
  await gateway?.close();
  await accounts?.close();
  await billing?.close();
});

beforeEach(() => {
  accounts.received.length = 0;
  billing.received.length = 0;
});

interface Response {
  status: number;
  body: { data?: any; errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }> };
}

async function post(query: string, options: { scopes?: string[]; variables?: Record<string, unknown>; accept?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: options.accept ?? 'application/graphql-response+json',
    ...(options.scopes ? await gateway.bearer(options.scopes, { userId: 'u1' }) : {}),
  };
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables: options.variables }),
  });
  return { status: response.status, body: (await response.json()) as Response['body'] };
}

const errorSummary = (body: Response['body']) =>
  (body.errors ?? []).map((error) => ({ message: error.message, path: error.path, code: error.extensions?.code }));

describe('@authenticated', () => {
  it('answers an anonymous caller null and UNAUTHENTICATED for the field, HTTP 200, with the other fields', async () => {
    const { status, body } = await post('{ publicInfo me { id name } }');
    expect(status).toBe(200);
    expect(body.data).toEqual({ publicInfo: 'hello', me: null });
    expect(errorSummary(body)).toEqual([
      { message: 'Unauthorized field or type: Query.me (requires authentication)', path: ['me'], code: 'UNAUTHENTICATED' },
    ]);
    expect(accounts.received.join('\n')).not.toMatch(/\bme\b/);
  });

  it('lets a signed-in caller through untouched', async () => {
    const { body } = await post('{ publicInfo me { id name } }', { scopes: [] });
    expect(body).toEqual(withCost({ data: { publicInfo: 'hello', me: { id: 'u1', name: 'Ada' } } }));
  });

  it('applies a type-level directive to every field returning the type', async () => {
    const anonymous = await post('{ vault { id contents } publicInfo }');
    expect(anonymous.body.data).toEqual({ vault: null, publicInfo: 'hello' });
    expect(errorSummary(anonymous.body)).toEqual([
      { message: 'Unauthorized field or type: Query.vault (requires authentication)', path: ['vault'], code: 'UNAUTHENTICATED' },
    ]);
    const signedIn = await post('{ vault { id contents } }', { scopes: [] });
    expect(signedIn.body).toEqual(withCost({ data: { vault: { id: 'v1', contents: 'gold' } } }));
  });
});

describe('@requiresScopes', () => {
  const query = 'query ($id: ID!) { user(id: $id) { id email } }';

  it('answers a signed-in caller without the scope FORBIDDEN, naming the scope', async () => {
    const { status, body } = await post(query, { scopes: ['users:email'], variables: { id: 'u2' } });
    expect(status).toBe(200);
    expect(body.data).toEqual({ user: null });
    expect(errorSummary(body)).toEqual([
      { message: 'Unauthorized field or type: Query.user (requires scope users:read)', path: ['user'], code: 'FORBIDDEN' },
    ]);
  });

  it('requires every scope of an inner list (AND) and any one inner list (OR)', async () => {
    const readOnly = await post(query, { scopes: ['users:read'], variables: { id: 'u2' } });
    expect(readOnly.body.data).toEqual({ user: { id: 'u2', email: null } });
    expect(errorSummary(readOnly.body)).toEqual([
      {
        message: 'Unauthorized field or type: User.email (requires scopes (users:read and users:email) or admin)',
        path: ['user', 'email'],
        code: 'FORBIDDEN',
      },
    ]);
    const both = await post(query, { scopes: ['users:read', 'users:email'], variables: { id: 'u2' } });
    expect(both.body).toEqual(withCost({ data: { user: { id: 'u2', email: 'bob@example.com' } } }));
    const admin = await post(query, { scopes: ['users:read', 'admin'], variables: { id: 'u2' } });
    expect(admin.body).toEqual(withCost({ data: { user: { id: 'u2', email: 'bob@example.com' } } }));
  });

  it('answers an anonymous caller UNAUTHENTICATED for a scoped field', async () => {
    const { body } = await post('{ users { id email } }');
    expect(body.data).toEqual({ users: [{ id: 'u1', email: null }, { id: 'u2', email: null }] });
    expect(errorSummary(body)).toEqual([
      {
        message: 'Unauthorized field or type: User.email (requires scopes (users:read and users:email) or admin)',
        path: ['users', 'email'],
        code: 'UNAUTHENTICATED',
      },
    ]);
  });

  it('filters a field resolved by another subgraph (an entity field)', async () => {
    const { body } = await post('{ me { id plan } }', { scopes: ['users:read'] });
    expect(body.data).toEqual({ me: { id: 'u1', plan: null } });
    expect(errorSummary(body)).toEqual([
      { message: 'Unauthorized field or type: User.plan (requires scope billing:read)', path: ['me', 'plan'], code: 'FORBIDDEN' },
    ]);
    expect(billing.received).toEqual([]);
    const allowed = await post('{ me { id plan } }', { scopes: ['billing:read'] });
    expect(allowed.body).toEqual(withCost({ data: { me: { id: 'u1', plan: 'pro' } } }));
  });
});

describe('removed fields never reach a subgraph', () => {
  it('sends the subgraph the operation without them', async () => {
    await post('{ publicInfo users { id name email } }', { scopes: ['users:read'] });
    expect(accounts.received).toHaveLength(1);
    expect(accounts.received[0]).toContain('users');
    expect(accounts.received[0]).toContain('name');
    expect(accounts.received[0]).not.toContain('email');
  });
});

describe('null propagation', () => {
  it('nulls the nearest nullable ancestor of a removed non-null field, and does not fetch it', async () => {
    const { body } = await post('{ account { id owner { name token } } }', { scopes: [] });
    expect(body.data).toEqual({ account: { id: 'a1', owner: null } });
    expect(errorSummary(body)).toEqual([
      { message: 'Unauthorized field or type: Owner.token (requires scope tokens:read)', path: ['account', 'owner', 'token'], code: 'FORBIDDEN' },
    ]);
    expect(accounts.received).toHaveLength(1);
    expect(accounts.received[0]).not.toContain('owner');
  });

  it('nulls each element of a list whose elements are nullable', async () => {
    const { body } = await post('{ maybeUsers { id internalNote } publicInfo }');
    expect(body.data).toEqual({ maybeUsers: [null, null], publicInfo: 'hello' });
    expect(errorSummary(body)).toEqual([
      {
        message: 'Unauthorized field or type: User.internalNote (requires authentication)',
        path: ['maybeUsers', 'internalNote'],
        code: 'UNAUTHENTICATED',
      },
    ]);
    expect(accounts.received.join('\n')).not.toContain('internalNote');
  });

  it('answers data: null without calling any subgraph when null surely reaches the root', async () => {
    const { status, body } = await post('{ publicInfo viewer { name badge } }');
    expect(status).toBe(200);
    expect(body.data).toBeNull();
    expect(errorSummary(body)).toEqual([
      { message: 'Unauthorized field or type: Viewer.badge (requires authentication)', path: ['viewer', 'badge'], code: 'UNAUTHENTICATED' },
    ]);
    expect(accounts.received).toEqual([]);
  });

  it('propagates through a non-null list only when it has elements, so asks for the elements alone', async () => {
    const { body } = await post('{ publicInfo users { id internalNote } }');
    expect(body.data).toBeNull();
    expect(errorSummary(body)).toEqual([
      { message: 'Unauthorized field or type: User.internalNote (requires authentication)', path: ['users', 'internalNote'], code: 'UNAUTHENTICATED' },
    ]);
    // An empty list would have answered `users: []` and kept publicInfo, so the list is fetched,
    // with nothing of its elements but their type name.
    expect(accounts.received).toHaveLength(1);
    expect(accounts.received[0]).not.toMatch(/internalNote|\bid\b/);
  });
});

describe('fragments', () => {
  it('filters fields inside named fragments, wherever they are spread', async () => {
    const { body } = await post(
      `query { me { ...UserFields } users { ...UserFields } }
       fragment UserFields on User { id email }`,
      { scopes: ['users:read'] },
    );
    expect(body.data).toEqual({
      me: { id: 'u1', email: null },
      users: [{ id: 'u1', email: null }, { id: 'u2', email: null }],
    });
    expect(errorSummary(body).map((e) => e.path)).toEqual([['me', 'email'], ['users', 'email']]);
    expect(accounts.received.join('\n')).not.toContain('email');
  });

  it('removes an inline fragment on a type the caller may not see', async () => {
    const { body } = await post('{ search { __typename ... on Book { title } ... on Vault { contents } } }');
    expect(body.data).toEqual({ search: [{ __typename: 'Book', title: 'Dune' }, { __typename: 'Vault' }] });
    expect(errorSummary(body)).toEqual([
      { message: 'Unauthorized field or type: Vault (requires authentication)', path: ['search'], code: 'UNAUTHENTICATED' },
    ]);
    expect(accounts.received.join('\n')).not.toContain('contents');
  });

  it('nulls a field removed in a fragment on one implementation only in objects of that type', async () => {
    const { body } = await post('{ nodes { id ... on Book { isbn } ... on Film { isbn } } }', { scopes: [] });
    expect(body.data).toEqual({ nodes: [{ id: 'b1', isbn: null }, { id: 'f1', isbn: 'film-isbn' }] });
    expect(errorSummary(body)).toEqual([
      { message: 'Unauthorized field or type: Book.isbn (requires scope books:isbn)', path: ['nodes', 'isbn'], code: 'FORBIDDEN' },
    ]);
  });
});

describe('nothing left to execute', () => {
  it('does not call the executor when every root field is removed, and answers each root null', async () => {
    const { status, body } = await post('{ me { id } vault { id } }');
    expect(status).toBe(200);
    expect(body.data).toEqual({ me: null, vault: null });
    expect(errorSummary(body).map((e) => e.code)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
    expect(accounts.received).toEqual([]);
    expect(billing.received).toEqual([]);
  });

  it('answers data: null for a removed non-null root field', async () => {
    const { body } = await post('{ secretCount }');
    expect(body.data).toBeNull();
    expect(errorSummary(body)).toEqual([
      { message: 'Unauthorized field or type: Query.secretCount (requires authentication)', path: ['secretCount'], code: 'UNAUTHENTICATED' },
    ]);
    expect(accounts.received).toEqual([]);
  });
});

describe('mutations', () => {
  it('never executes a mutation field the caller may not use, and runs the others', async () => {
    const before = resetCalls;
    const { body } = await post('mutation { publicPing resetEverything }', { scopes: ['users:read'] });
    expect(body.data).toEqual({ publicPing: true, resetEverything: null });
    expect(errorSummary(body)).toEqual([
      { message: 'Unauthorized field or type: Mutation.resetEverything (requires scope admin)', path: ['resetEverything'], code: 'FORBIDDEN' },
    ]);
    expect(resetCalls).toBe(before);
    expect(accounts.received.join('\n')).not.toContain('resetEverything');

    const alone = await post('mutation { resetEverything }', { scopes: ['users:read'] });
    expect(alone.body.data).toEqual({ resetEverything: null });
    expect(resetCalls).toBe(before);

    const admin = await post('mutation { resetEverything }', { scopes: ['admin'] });
    expect(admin.body).toEqual(withCost({ data: { resetEverything: true } }));
    expect(resetCalls).toBe(before + 1);
  });
});

describe('subscriptions', () => {
  it('refuses an unauthorized subscription field without subscribing upstream', async () => {
    const { status, body } = await post('subscription { alerts }', { accept: 'application/json' });
    expect(status).toBe(200);
    expect(body.data).toEqual({ alerts: null });
    expect(errorSummary(body)).toEqual([
      { message: 'Unauthorized field or type: Subscription.alerts (requires authentication)', path: ['alerts'], code: 'UNAUTHENTICATED' },
    ]);
    expect(accounts.received).toEqual([]);
  });
});

describe('@skip and @include', () => {
  it('reports nothing for a removed field the request skips', async () => {
    const query = 'query ($withEmail: Boolean!) { users { id email @include(if: $withEmail) } }';
    const skipped = await post(query, { variables: { withEmail: false } });
    expect(skipped.body).toEqual(withCost({ data: { users: [{ id: 'u1' }, { id: 'u2' }] } }));
    const included = await post(query, { variables: { withEmail: true } });
    expect(included.body.data).toEqual({ users: [{ id: 'u1', email: null }, { id: 'u2', email: null }] });
    expect(errorSummary(included.body).map((e) => e.path)).toEqual([['users', 'email']]);
  });
});

describe('caching', () => {
  it('does not leak a plan between callers with different scopes sending the same document', async () => {
    const query = 'query Same { users { id email } }';
    const withScopes = { scopes: ['users:read', 'users:email'] };
    const first = await post(query, withScopes);
    const second = await post(query, { scopes: ['users:read'] });
    const third = await post(query, withScopes);
    const anonymous = await post(query);
    expect(first.body).toEqual(withCost({ data: { users: [{ id: 'u1', email: 'ada@example.com' }, { id: 'u2', email: 'bob@example.com' }] } }));
    expect(second.body.data).toEqual({ users: [{ id: 'u1', email: null }, { id: 'u2', email: null }] });
    expect(errorSummary(second.body).map((e) => e.code)).toEqual(['FORBIDDEN']);
    expect(third.body).toEqual(first.body);
    expect(errorSummary(anonymous.body).map((e) => e.code)).toEqual(['UNAUTHENTICATED']);
  });
});
