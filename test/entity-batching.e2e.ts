import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { type GraphQLResponse, startTestPlatform, type TestPlatform } from './kit.js';
import { type SqlStatement, type SqlStatementWatch, touches, watchSqlStatements } from './sql-statements.js';

/**
 * Issue 17, item 7: `me → inferenceJobs(100) → user → inferenceJobs(100) → …`, a document of
 * under 200 bytes, made the inference subgraph run one query per job of every level (tens of
 * thousands), ran past the subgraph timeout and took the database pool from everyone else.
 * Entity resolution and per-user fields are batched per request now: one query per level.
 */

/**
 * `me { inferenceJobs(first: firsts[0]) { id model { id } user { inferenceJobs(first: firsts[1]) … user { email } } } }`:
 * each level's jobs resolve in the inference subgraph, the last level's users in the users subgraph.
 */
function nestedJobsQuery(firsts: readonly number[]): string {
  const level = (index: number): string =>
    index === firsts.length ? 'email' : `inferenceJobs(first: ${firsts[index]}) { id model { id } user { ${level(index + 1)} } }`;
  return `{ me { ${level(0)} } }`;
}

/**
 * As deep as the gateway's depth limit (MAX_OPERATION_DEPTH, 15) lets this selection go: six
 * levels reach depth 14. The first takes 100 jobs, as in the report, so the second level has 100
 * parents and each later one 1,000; the later levels take few jobs each, so the answer stays
 * half a megabyte that a loaded machine serves in seconds (the report's 100 at every level
 * answers 100⁶ jobs, which only the cost limits can refuse).
 */
const LEVELS = [100, 10, 1, 1, 1, 1];
const JOBS = 100;

interface JobNode {
  id: string;
  model: { id: string };
  user: { inferenceJobs?: JobNode[]; email?: string };
}

/** How many jobs each level of the answer holds, and the emails the last level's users have. */
function shapeOf(jobs: JobNode[]): { jobsPerLevel: number[]; emails: Set<string> } {
  const jobsPerLevel: number[] = [];
  const emails = new Set<string>();
  let level = jobs;
  while (level.length > 0) {
    jobsPerLevel.push(level.length);
    for (const job of level) if (job.user.email !== undefined) emails.add(job.user.email);
    level = level.flatMap((job) => job.user.inferenceJobs ?? []);
  }
  return { jobsPerLevel, emails };
}

const hasValue = (statement: SqlStatement, value: string) =>
  statement.values.some((param) => param === value || (Array.isArray(param) && param.includes(value)));

describe('batched entity resolution', () => {
  let platform: TestPlatform;
  let sql: SqlStatementWatch;
  let ada: { id: string; headers: Record<string, string> };
  let bob: { id: string; headers: Record<string, string> };

  const register = async (name: string) => {
    const response = await platform.query<{ register: { user: { id: string }; accessToken: string } }>(
      `mutation ($input: RegisterInput!) { register(input: $input) { user { id } accessToken } }`,
      { input: { email: `${name}@example.com`, password: 'correct horse battery staple', displayName: name } },
    );
    expect(response.body.errors).toBeUndefined();
    const { user, accessToken } = response.body.data!.register;
    return { id: user.id, headers: { authorization: `Bearer ${accessToken}` } };
  };

  beforeAll(async () => {
    platform = await startTestPlatform({
      // A ceiling high enough for the nested document (the default free one refuses it): this
      // tests the subgraphs, which must hold whatever the gateway's cost limits let through.
      // The subgraph timeout is raised so that a slow machine fails on the statement counts,
      // which are what this file asserts, never on the clock.
      gatewayEnv: { COST_PLANS: JSON.stringify({ free: { maxOperationCost: 100_000_000 } }), SUBGRAPH_TIMEOUT_MS: '60000' },
    });
    ada = await register('ada-nested');
    bob = await register('bob-bystander');
    await platform.db.query(
      `INSERT INTO inference."InferenceJob" (id, "userId", "modelId", prompt, "maxTokens", status, "autonomyLevel", "createdAt")
       SELECT gen_random_uuid(), $1, 'lotabots-tiny-cpu', 'prompt ' || n, 16, 'SUCCEEDED', 'EXPERT', now() - n * interval '1 second'
       FROM generate_series(1, ${JOBS}) AS n`,
      [ada.id],
    );
    await platform.db.query(
      `INSERT INTO inference."InferenceJob" (id, "userId", "modelId", prompt, "maxTokens", "autonomyLevel") VALUES (gen_random_uuid(), $1, 'lotabots-tiny-cpu', 'bob', 16, 'EXPERT')`,
      [bob.id],
    );
    sql = watchSqlStatements();
  });

  beforeEach(() => sql.clear());

  afterAll(async () => {
    sql?.[Symbol.dispose]();
    await platform?.stop();
  });

  it('goes as deep as the depth limit allows and no deeper', async () => {
    const tooDeep = await platform.query(nestedJobsQuery([...LEVELS, 1]), undefined, ada.headers);
    expect(tooDeep.body.errors?.map((error) => error.extensions?.code)).toEqual(['DEPTH_LIMIT_EXCEEDED']);
  });

  it('regression: nested inferenceJobs (me → inferenceJobs(100) → user → inferenceJobs → …, six levels) answer with data and one query per level', async () => {
    const { status, body } = await platform.query<{ me: { inferenceJobs: JobNode[] } }>(nestedJobsQuery(LEVELS), undefined, ada.headers);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const { jobsPerLevel, emails } = shapeOf(body.data!.me.inferenceJobs);
    expect(jobsPerLevel).toEqual([100, 1_000, 1_000, 1_000, 1_000, 1_000]);
    expect([...emails]).toEqual(['ada-nested@example.com']);
    // Per level: one statement for the jobs of all its parents and one for their models.
    expect(sql.on('inference', 'InferenceJob').length).toBeLessThanOrEqual(LEVELS.length);
    expect(sql.on('inference', 'Model').length).toBeLessThanOrEqual(LEVELS.length);
    // `me`, then the 10,000 user references of the last level in one `_entities` call.
    expect(sql.on('users', 'User').length).toBeLessThanOrEqual(2);
  }, 120_000);

  it("regression: nested inferenceJobs held up at the database leave the pool to other users' queries", async () => {
    // Ada's first level runs; every later statement on her jobs stays on its connection, unsent.
    let adasJobStatements = 0;
    const held = sql.hold((statement) => touches(statement, 'inference', 'InferenceJob') && hasValue(statement, ada.id) && ++adasJobStatements > 1);
    const nested = platform.query<{ me: { inferenceJobs: JobNode[] } }>(nestedJobsQuery(LEVELS), undefined, ada.headers);
    await held;
    let bystander: GraphQLResponse;
    try {
      bystander = await platform.query(`{ me { email plan { id } inferenceJobs(first: 5) { prompt } } }`, undefined, bob.headers);
    } finally {
      sql.release();
    }
    expect(bystander.body).toEqual({ data: { me: { email: 'bob-bystander@example.com', plan: { id: 'free' }, inferenceJobs: [{ prompt: 'bob' }] } }, extensions: expect.anything() });
    const { body } = await nested;
    expect(body.errors).toBeUndefined();
    expect(shapeOf(body.data!.me.inferenceJobs).jobsPerLevel).toHaveLength(LEVELS.length);
  }, 120_000);
});
