import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { createIdentitySigner, IDENTITY_HEADER } from '../lib/auth/identity-header.js';
import { gatewayServicePrincipal } from '../lib/auth/principal.js';
import {
  type ActionDecision,
  AUTONOMY_ACTIONS_STREAM,
  AUTONOMY_DECISIONS_STREAM,
  parseActionDecision,
  proposeAction,
  type ProposedAction,
} from '../lib/autonomy/actions.js';
import { type GraphQLResponse, postGraphQL, startTestPlatform, type TestPlatform } from './kit.js';

/**
 * Autonomy settings and pending actions (issue 18, items 7 to 9), through the gateway against
 * real PostgreSQL and Redis; proposals are appended to the stream as inference does.
 */

const SETTING = 'context level source updatedAt';
const AUTONOMY = `query ($context: String) { autonomy(context: $context) { ${SETTING} } }`;
const SET = `mutation ($level: AutonomyLevel!, $context: String, $userId: ID) { setAutonomy(level: $level, context: $context, userId: $userId) { ${SETTING} } }`;
const CLEAR = `mutation ($context: String, $userId: ID) { clearAutonomy(context: $context, userId: $userId) { ${SETTING} } }`;
const AUDIT = `query ($first: Int!, $after: String, $userId: ID) {
  autonomyAudit(first: $first, after: $after, userId: $userId) {
    edges { cursor node { id user { id } actor at context oldLevel newLevel } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const ACTION = 'id jobId user { id } context name arguments status proposedAt decidedAt decidedBy reason';
const PENDING = `query ($first: Int!, $after: String) { pendingActions(first: $first, after: $after) { edges { cursor node { ${ACTION} } } pageInfo { hasNextPage endCursor } } }`;
const APPROVE = `mutation ($id: ID!) { approveAction(id: $id) { ${ACTION} } }`;
const REJECT = `mutation ($id: ID!, $reason: String) { rejectAction(id: $id, reason: $reason) { ${ACTION} } }`;

/** Generous: the consumer reads within a second, but this machine is shared and loaded. */
const WAIT = { timeout: 30_000, interval: 50 };
/** Room for one WAIT and the requests around it. */
const ACTION_TEST_TIMEOUT_MS = 60_000;

const codesOf = (response: GraphQLResponse) => (response.body.errors ?? []).map((error) => error.extensions?.code);

describe('autonomy settings and pending actions', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform();
  });
  afterAll(() => platform?.stop());

  /** A signed-in user (a token for a fresh id) and how to ask as them. */
  const signIn = async (roles = ['user']) => {
    const userId = randomUUID();
    const headers = { authorization: `Bearer ${await platform.tokenFor(userId, { roles })}` };
    const ask = <Data = Record<string, any>>(document: string, variables?: Record<string, unknown>) => platform.query<Data>(document, variables, headers);
    const ok = async (document: string, variables?: Record<string, unknown>) => {
      const response = await ask(document, variables);
      expect(response.body.errors).toBeUndefined();
      return response.body.data!;
    };
    return { userId, ask, ok };
  };

  const proposal = (userId: string, overrides: Partial<ProposedAction> = {}): ProposedAction => ({
    actionId: randomUUID(),
    jobId: randomUUID(),
    userId,
    context: null,
    name: 'send_email',
    arguments: JSON.stringify({ to: 'ada@example.com', subject: 'hello' }),
    proposedAt: new Date().toISOString(),
    ...overrides,
  });

  const decisions = async (): Promise<ActionDecision[]> =>
    (await platform.redis.xrange(AUTONOMY_DECISIONS_STREAM, '-', '+')).flatMap(([, fields]) => parseActionDecision(fields) ?? []);
  const decisionOf = (actionId: string) =>
    vi.waitFor(async () => {
      const found = (await decisions()).filter((decision) => decision.actionId === actionId);
      expect(found.length).toBeGreaterThan(0);
      return found;
    }, WAIT);

  describe('settings', () => {
    it('answers the platform default, then the user default, then a context override, each with its source', async () => {
      const ada = await signIn();
      expect((await ada.ok(AUTONOMY)).autonomy).toEqual({ context: null, level: 'ASSISTED', source: 'PLATFORM', updatedAt: null });

      expect((await ada.ok(SET, { level: 'EXPERT' })).setAutonomy).toEqual({ context: null, level: 'EXPERT', source: 'USER', updatedAt: expect.any(String) });
      expect((await ada.ok(AUTONOMY, { context: 'code-review' })).autonomy).toMatchObject({ context: null, level: 'EXPERT', source: 'USER' });

      expect((await ada.ok(SET, { level: 'AGENT', context: 'code-review' })).setAutonomy).toMatchObject({ context: 'code-review', level: 'AGENT', source: 'CONTEXT' });
      expect((await ada.ok(AUTONOMY, { context: 'code-review' })).autonomy).toMatchObject({ context: 'code-review', level: 'AGENT', source: 'CONTEXT' });
      expect((await ada.ok(AUTONOMY, { context: 'email' })).autonomy).toMatchObject({ context: null, level: 'EXPERT', source: 'USER' });
      expect((await ada.ok(AUTONOMY)).autonomy).toMatchObject({ level: 'EXPERT', source: 'USER' });
    });

    it('clears an override back to the user default, and the default back to the platform default', async () => {
      const ada = await signIn();
      await ada.ok(SET, { level: 'COLLABORATOR' });
      await ada.ok(SET, { level: 'NO_AI', context: 'email' });
      expect((await ada.ok(CLEAR, { context: 'email' })).clearAutonomy).toMatchObject({ context: null, level: 'COLLABORATOR', source: 'USER' });
      expect((await ada.ok(CLEAR)).clearAutonomy).toEqual({ context: null, level: 'ASSISTED', source: 'PLATFORM', updatedAt: null });
      expect((await ada.ok(AUTONOMY, { context: 'email' })).autonomy).toMatchObject({ level: 'ASSISTED', source: 'PLATFORM' });
    });

    it('records every change with who, when, context, old and new level, newest first; a non-change is not one', async () => {
      const ada = await signIn();
      const before = Date.now();
      await ada.ok(SET, { level: 'EXPERT' });
      await ada.ok(SET, { level: 'EXPERT' });
      await ada.ok(SET, { level: 'AGENT', context: 'code-review' });
      await ada.ok(SET, { level: 'COLLABORATOR', context: 'code-review' });
      await ada.ok(CLEAR, { context: 'code-review' });
      await ada.ok(CLEAR, { context: 'never-set' });
      const { autonomyAudit } = await ada.ok(AUDIT, { first: 10 });
      const entries = autonomyAudit.edges.map((edge: { node: Record<string, unknown> }) => edge.node);
      expect(entries.map(({ context, oldLevel, newLevel }: Record<string, unknown>) => ({ context, oldLevel, newLevel }))).toEqual([
        { context: 'code-review', oldLevel: 'COLLABORATOR', newLevel: null },
        { context: 'code-review', oldLevel: 'AGENT', newLevel: 'COLLABORATOR' },
        { context: 'code-review', oldLevel: null, newLevel: 'AGENT' },
        { context: null, oldLevel: null, newLevel: 'EXPERT' },
      ]);
      for (const entry of entries) {
        expect(entry).toMatchObject({ user: { id: ada.userId }, actor: `user:${ada.userId}` });
        expect(Date.parse(entry.at as string)).toBeGreaterThanOrEqual(before - 1_000);
      }
      expect(autonomyAudit.pageInfo).toEqual({ hasNextPage: false, endCursor: autonomyAudit.edges[3].cursor });
    });

    it('pages the audit with first and after', async () => {
      const ada = await signIn();
      for (const level of ['ASSISTED', 'COLLABORATOR', 'EXPERT', 'AGENT', 'NO_AI']) await ada.ok(SET, { level });
      const first = (await ada.ok(AUDIT, { first: 2 })).autonomyAudit;
      expect(first.edges.map((edge: { node: { newLevel: string } }) => edge.node.newLevel)).toEqual(['NO_AI', 'AGENT']);
      expect(first.pageInfo.hasNextPage).toBe(true);
      const second = (await ada.ok(AUDIT, { first: 2, after: first.pageInfo.endCursor })).autonomyAudit;
      expect(second.edges.map((edge: { node: { newLevel: string } }) => edge.node.newLevel)).toEqual(['EXPERT', 'COLLABORATOR']);
      const last = (await ada.ok(AUDIT, { first: 2, after: second.pageInfo.endCursor })).autonomyAudit;
      expect(last.edges.map((edge: { node: { newLevel: string } }) => edge.node.newLevel)).toEqual(['ASSISTED']);
      expect(last.pageInfo.hasNextPage).toBe(false);
    });

    it('prices a page of the audit by first (@listSize)', async () => {
      const ada = await signIn();
      const costOf = async (first: number) => (await ada.ask(AUDIT, { first })).body as { extensions: { cost: { requestedQueryCost: number } } };
      const [small, large] = [(await costOf(2)).extensions.cost.requestedQueryCost, (await costOf(100)).extensions.cost.requestedQueryCost];
      // Each edge costs its node and the node's user (1 + 1 + 1); the connection and pageInfo once.
      expect(large - small).toBe(98 * 3);
    });

    it('lets autonomy:admin set and read another user\'s settings, recorded with the admin as actor', async () => {
      const ada = await signIn();
      const admin = await signIn(['admin']);
      expect((await admin.ok(SET, { level: 'NO_AI', context: 'email', userId: ada.userId })).setAutonomy).toMatchObject({ level: 'NO_AI', source: 'CONTEXT' });
      expect((await ada.ok(AUTONOMY, { context: 'email' })).autonomy).toMatchObject({ level: 'NO_AI', source: 'CONTEXT' });
      const audit = (await admin.ok(AUDIT, { first: 5, userId: ada.userId })).autonomyAudit;
      expect(audit.edges.map((edge: { node: unknown }) => edge.node)).toEqual([
        expect.objectContaining({ actor: `user:${admin.userId}`, user: { id: ada.userId }, context: 'email', oldLevel: null, newLevel: 'NO_AI' }),
      ]);
      expect((await ada.ok(AUDIT, { first: 5 })).autonomyAudit.edges).toHaveLength(1);
    });

    it("refuses another user's settings and audit with NOT_FOUND, and changes nothing", async () => {
      const ada = await signIn();
      const bob = await signIn();
      await ada.ok(SET, { level: 'EXPERT' });
      for (const [document, variables] of [
        [SET, { level: 'AGENT', userId: ada.userId }],
        [CLEAR, { userId: ada.userId }],
        [AUDIT, { first: 5, userId: ada.userId }],
      ] as const) {
        const response = await bob.ask(document, variables);
        expect(codesOf(response), document).toEqual(['NOT_FOUND']);
        expect(JSON.stringify(response.body)).not.toContain('EXPERT');
      }
      // A malformed or unknown id is answered the same way.
      for (const userId of ['not-a-uuid', randomUUID()]) expect(codesOf(await bob.ask(AUDIT, { first: 5, userId }))).toEqual(['NOT_FOUND']);
      expect((await ada.ok(AUTONOMY)).autonomy).toMatchObject({ level: 'EXPERT', source: 'USER' });
      expect((await ada.ok(AUDIT, { first: 5 })).autonomyAudit.edges).toHaveLength(1);
      expect((await bob.ok(AUDIT, { first: 5 })).autonomyAudit.edges).toEqual([]);
    });

    it('gives inference the new level on its next read: User.autonomy through _entities as a service with autonomy:admin', async () => {
      const ada = await signIn();
      const identity = createIdentitySigner(platform.secrets.identitySecret);
      const inference = { ...gatewayServicePrincipal, subject: 'service:inference', scopes: ['autonomy:admin'] };
      const levelAtSubmit = async () => {
        const response = await postGraphQL<{ _entities: Array<{ autonomy: { level: string; source: string } }> }>(
          platform.subgraphUrls.autonomy,
          `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { autonomy(context: "email") { level source } } } }`,
          { representations: [{ __typename: 'User', id: ada.userId }] },
          { [IDENTITY_HEADER]: await identity.sign(inference) },
        );
        expect(response.body.errors).toBeUndefined();
        return response.body.data!._entities[0]!.autonomy;
      };
      expect(await levelAtSubmit()).toEqual({ level: 'ASSISTED', source: 'PLATFORM' });
      await ada.ok(SET, { level: 'AGENT', context: 'email' });
      expect(await levelAtSubmit()).toEqual({ level: 'AGENT', source: 'CONTEXT' });
      await ada.ok(SET, { level: 'NO_AI' });
      await ada.ok(CLEAR, { context: 'email' });
      expect(await levelAtSubmit()).toEqual({ level: 'NO_AI', source: 'USER' });
    });

    it('answers bad input with clear codes', async () => {
      const ada = await signIn();
      const unknownLevel = await ada.ask(SET, { level: 'SUPERHUMAN' });
      expect(unknownLevel.status).toBe(400);
      expect(codesOf(unknownLevel)).toEqual(['BAD_USER_INPUT']);
      expect(codesOf(await ada.ask('mutation { setAutonomy(level: SUPERHUMAN) { level } }'))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      for (const context of ['Code Review', '', '-leading', 'x'.repeat(65), 'ünï']) {
        expect(codesOf(await ada.ask(SET, { level: 'AGENT', context })), context).toEqual(['BAD_USER_INPUT']);
        expect(codesOf(await ada.ask(AUTONOMY, { context })), context).toEqual(['BAD_USER_INPUT']);
      }
      for (const first of [0, -1, 101]) expect(codesOf(await ada.ask(AUDIT, { first })), String(first)).toEqual(['BAD_USER_INPUT']);
      expect(codesOf(await ada.ask(AUDIT, { first: 5, after: 'not-a-cursor' }))).toEqual(['BAD_USER_INPUT']);
      const actionCursor = Buffer.from('action:1').toString('base64url');
      expect(codesOf(await ada.ask(AUDIT, { first: 5, after: actionCursor }))).toEqual(['BAD_USER_INPUT']);
      expect(codesOf(await platform.query(AUTONOMY))).toEqual(['UNAUTHENTICATED']);
      expect(codesOf(await platform.query(SET, { level: 'AGENT' }))).toEqual(['UNAUTHENTICATED']);
      expect((await ada.ok(AUTONOMY)).autonomy).toMatchObject({ source: 'PLATFORM' });
    });
  });

  describe('pending actions', () => {
    const pendingOf = async (user: Awaited<ReturnType<typeof signIn>>) =>
      (await user.ok(PENDING, { first: 100 })).pendingActions.edges.map((edge: { node: { id: string } }) => edge.node);
    const waitPending = (user: Awaited<ReturnType<typeof signIn>>, actionId: string) =>
      vi.waitFor(async () => {
        const found = (await pendingOf(user)).find((action: { id: string }) => action.id === actionId);
        expect(found).toBeDefined();
        return found;
      }, WAIT);

    it('holds a proposal of a COLLABORATOR as pending; approving publishes the decision; deciding again is a CONFLICT', async () => {
      const ada = await signIn();
      await ada.ok(SET, { level: 'COLLABORATOR', context: 'email' });
      const action = proposal(ada.userId, { context: 'email' });
      await proposeAction(platform.redis, action);
      expect(await waitPending(ada, action.actionId)).toEqual({
        id: action.actionId,
        jobId: action.jobId,
        user: { id: ada.userId },
        context: 'email',
        name: 'send_email',
        arguments: action.arguments,
        status: 'PENDING',
        proposedAt: action.proposedAt,
        decidedAt: null,
        decidedBy: null,
        reason: null,
      });

      const approved = (await ada.ok(APPROVE, { id: action.actionId })).approveAction;
      expect(approved).toMatchObject({ id: action.actionId, status: 'APPROVED', decidedBy: `user:${ada.userId}`, decidedAt: expect.any(String) });
      expect(await decisionOf(action.actionId)).toEqual([
        { actionId: action.actionId, jobId: action.jobId, userId: ada.userId, decision: 'APPROVED', reason: null, decidedBy: `user:${ada.userId}`, decidedAt: approved.decidedAt },
      ]);
      expect(await pendingOf(ada)).toEqual([]);

      for (const [document, variables] of [[APPROVE, { id: action.actionId }], [REJECT, { id: action.actionId, reason: 'changed my mind' }]] as const) {
        const again = await ada.ask(document, variables);
        expect(again.body.data).toBeNull();
        expect(codesOf(again)).toEqual(['CONFLICT']);
      }
      expect(await decisionOf(action.actionId)).toHaveLength(1);
    }, ACTION_TEST_TIMEOUT_MS);

    it('rejects with a reason, published with it', async () => {
      const ada = await signIn();
      await ada.ok(SET, { level: 'EXPERT' });
      const action = proposal(ada.userId);
      await proposeAction(platform.redis, action);
      await waitPending(ada, action.actionId);
      const long = await ada.ask(REJECT, { id: action.actionId, reason: 'x'.repeat(501) });
      expect(codesOf(long)).toEqual(['BAD_USER_INPUT']);
      const rejected = (await ada.ok(REJECT, { id: action.actionId, reason: 'not to that address' })).rejectAction;
      expect(rejected).toMatchObject({ status: 'REJECTED', reason: 'not to that address', decidedBy: `user:${ada.userId}` });
      expect(await decisionOf(action.actionId)).toEqual([expect.objectContaining({ decision: 'REJECTED', reason: 'not to that address' })]);
      expect(codesOf(await ada.ask(APPROVE, { id: action.actionId }))).toEqual(['CONFLICT']);
    }, ACTION_TEST_TIMEOUT_MS);

    it('approves at once with AGENT and refuses at once with NO_AI, without holding anything', async () => {
      const ada = await signIn();
      await ada.ok(SET, { level: 'AGENT', context: 'ops' });
      await ada.ok(SET, { level: 'NO_AI', context: 'email' });
      const agentAction = proposal(ada.userId, { context: 'ops' });
      const noAiAction = proposal(ada.userId, { context: 'email' });
      await proposeAction(platform.redis, agentAction);
      await proposeAction(platform.redis, noAiAction);
      expect(await decisionOf(agentAction.actionId)).toEqual([
        expect.objectContaining({ decision: 'AUTO_APPROVED', decidedBy: 'autonomy:auto', userId: ada.userId, jobId: agentAction.jobId, reason: null }),
      ]);
      expect(await decisionOf(noAiAction.actionId)).toEqual([expect.objectContaining({ decision: 'REJECTED', decidedBy: 'autonomy:auto' })]);
      expect(await pendingOf(ada)).toEqual([]);
      expect(codesOf(await ada.ask(APPROVE, { id: agentAction.actionId }))).toEqual(['CONFLICT']);
    }, ACTION_TEST_TIMEOUT_MS);

    it('records a proposal delivered twice once, and drops an entry that is not a proposal without stopping', async () => {
      const ada = await signIn();
      const action = proposal(ada.userId);
      await proposeAction(platform.redis, action);
      await proposeAction(platform.redis, action);
      await platform.redis.xadd(AUTONOMY_ACTIONS_STREAM, '*', 'actionId', 'not-a-uuid', 'name', 'x');
      const after = proposal(ada.userId);
      await proposeAction(platform.redis, after);
      // Entries are handled in order: once the last is pending, the ones before it were handled.
      await waitPending(ada, after.actionId);
      expect((await pendingOf(ada)).map((pending: { id: string }) => pending.id)).toEqual([action.actionId, after.actionId]);
    }, ACTION_TEST_TIMEOUT_MS);

    it('publishes a decision stored while Redis could not take it (the consumer republishes after its next read)', async () => {
      const ada = await signIn();
      const actionId = randomUUID();
      await platform.db.query(
        `INSERT INTO autonomy."AutonomyAction" (id, "userId", "jobId", context, name, arguments, "proposedAt", status, "decidedBy", "decidedAt", reason)
         VALUES ($1, $2, gen_random_uuid(), '', 'send_email', '{}', now(), 'REJECTED', $3, now(), 'no')`,
        [actionId, ada.userId, `user:${ada.userId}`],
      );
      expect(await decisionOf(actionId)).toEqual([expect.objectContaining({ decision: 'REJECTED', reason: 'no', decidedBy: `user:${ada.userId}` })]);
      await vi.waitFor(async () => {
        const [row] = await platform.db.query<{ publishedAt: Date | null }>(`SELECT "publishedAt" FROM autonomy."AutonomyAction" WHERE id = $1`, [actionId]);
        expect(row!.publishedAt).not.toBeNull();
      }, WAIT);
    }, ACTION_TEST_TIMEOUT_MS);

    it('pages pending actions oldest first', async () => {
      const ada = await signIn();
      const actions = [proposal(ada.userId), proposal(ada.userId), proposal(ada.userId)];
      for (const action of actions) await proposeAction(platform.redis, action);
      await waitPending(ada, actions[2]!.actionId);
      const first = (await ada.ok(PENDING, { first: 2 })).pendingActions;
      expect(first.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual([actions[0]!.actionId, actions[1]!.actionId]);
      expect(first.pageInfo.hasNextPage).toBe(true);
      const rest = (await ada.ok(PENDING, { first: 2, after: first.pageInfo.endCursor })).pendingActions;
      expect(rest.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual([actions[2]!.actionId]);
      expect(rest.pageInfo.hasNextPage).toBe(false);
    }, ACTION_TEST_TIMEOUT_MS);

    it("refuses another user's action with NOT_FOUND, the same as a missing one, and leaves it pending", async () => {
      const ada = await signIn();
      const bob = await signIn();
      const admin = await signIn(['admin']);
      const action = proposal(ada.userId);
      await proposeAction(platform.redis, action);
      await waitPending(ada, action.actionId);
      for (const user of [bob, admin]) {
        for (const id of [action.actionId, randomUUID(), 'not-a-uuid']) {
          const response = await user.ask(APPROVE, { id });
          expect(response.body.data).toBeNull();
          expect(codesOf(response)).toEqual(['NOT_FOUND']);
          expect(codesOf(await user.ask(REJECT, { id }))).toEqual(['NOT_FOUND']);
        }
      }
      expect(await pendingOf(bob)).toEqual([]);
      expect((await pendingOf(ada)).map((pending: { id: string }) => pending.id)).toEqual([action.actionId]);
    }, ACTION_TEST_TIMEOUT_MS);
  });
});
