import { createHash, randomUUID } from 'node:crypto';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type AdHocGateway, type AdHocSubgraph, startAdHocGateway, startAdHocSubgraph } from './gateway-kit.js';

type Result = { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
type AccessLine = Record<string, unknown> & { requestId: string; status: number; subgraphErrors: { count: number; names: string[] } };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A pino logger whose lines the test reads back (pino writes synchronously to a plain stream). */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, accessLines: () => lines.filter((line) => line.msg === 'request') as AccessLine[], all: () => lines };
}

describe('access log and request ids', () => {
  let echo: AdHocSubgraph;
  const slow: AdHocSubgraph[] = [];
  let gateway: AdHocGateway;
  let quiet: AdHocGateway;
  const log = capturingLogger();
  const quietLog = capturingLogger();
  /** Releases the hanging resolvers once the tests are done, so the subgraphs can close. */
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));

  beforeAll(async () => {
    echo = await startAdHocSubgraph('echo', 'type Query { requestIdSeen: String }', {
      Query: { requestIdSeen: (_: unknown, __: unknown, context: { request: Request }) => context.request.headers.get('x-request-id') },
    });
    for (const name of ['slowa', 'slowb']) {
      slow.push(await startAdHocSubgraph(name, `type Query { ${name}: String }`, { Query: { [name]: () => released.then(() => 'late') } }));
    }
    gateway = await startAdHocGateway([echo, ...slow], { SUBGRAPH_TIMEOUT_MS: '300', MAX_OPERATION_ALIASES: '3' }, { logger: log.logger });
    quiet = await startAdHocGateway([echo], { ACCESS_LOG: 'false' }, { logger: quietLog.logger });
  });
  afterAll(async () => {
    release();
    await gateway?.close();
    await quiet?.close();
    for (const subgraph of [echo, ...slow]) await subgraph?.close();
  });

  const post = async (target: AdHocGateway, body: string, headers: Record<string, string> = {}) => {
    const response = await fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { response, result: (await response.json()) as Result };
  };
  /** The one access-log line of a response; fails when there is none or more than one. */
  const lineOf = (response: Response) => {
    const id = response.headers.get('x-request-id')!;
    const lines = log.accessLines().filter((line) => line.requestId === id);
    expect(lines, `access-log lines for ${id}`).toHaveLength(1);
    return lines[0]!;
  };

  it('logs a request once with its caller, operation, hash, cost and status, and forwards the client request id to the subgraph', async () => {
    const userId = randomUUID();
    const auth = await gateway.bearer([], { userId });
    const query = 'query Seen { requestIdSeen }';
    const before = log.accessLines().length;
    const { response, result } = await post(gateway, JSON.stringify({ query, operationName: 'Seen' }), { ...auth, 'x-request-id': 'client-req:42' });
    expect(result).toMatchObject({ data: { requestIdSeen: 'client-req:42' } });
    expect(response.headers.get('x-request-id')).toBe('client-req:42');
    expect(log.accessLines()).toHaveLength(before + 1);
    expect(lineOf(response)).toMatchObject({
      level: 30,
      principal: { kind: 'user', subject: `user:${userId}` },
      operationName: 'Seen',
      documentHash: createHash('sha256').update(query).digest('hex'),
      cost: { estimate: expect.any(Number), actual: expect.any(Number) },
      status: 200,
      durationMs: expect.any(Number),
      subgraphErrors: { count: 0, names: [] },
    });
    const token = auth.authorization!.replace('Bearer ', '');
    expect(JSON.stringify(log.all()).includes(token), 'the access token reached the log').toBe(false);
  });

  it('regression: a slow request whose subgraphs time out leaves exactly one line, naming them', async () => {
    const before = log.accessLines().length;
    const { response, result } = await post(gateway, JSON.stringify({ query: '{ slowa slowb requestIdSeen }' }));
    expect(result.data).toMatchObject({ slowa: null, slowb: null, requestIdSeen: expect.stringMatching(UUID) });
    expect(result.errors!.map((error) => error.extensions)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'slowa', requestId: response.headers.get('x-request-id') }),
        expect.objectContaining({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'slowb', requestId: response.headers.get('x-request-id') }),
      ]),
    );
    expect(log.accessLines()).toHaveLength(before + 1);
    expect(lineOf(response)).toMatchObject({ status: 200, principal: { kind: 'anonymous' }, subgraphErrors: { count: 2, names: ['slowa', 'slowb'] } });
  });

  it.each([
    ['a document that does not parse', JSON.stringify({ query: '{ requestIdSeen' }), {}, 400, 'GRAPHQL_PARSE_FAILED'],
    ['a body that is not JSON', '{"query":', {}, 400, null],
    ['an operation over the alias limit', JSON.stringify({ query: '{ a: requestIdSeen b: requestIdSeen c: requestIdSeen d: requestIdSeen }' }), {}, 200, 'ALIAS_LIMIT_EXCEEDED'],
    ['a credential that does not verify', JSON.stringify({ query: '{ requestIdSeen }' }), { authorization: 'Bearer not-a-token' }, 401, 'UNAUTHENTICATED'],
  ] as const)('logs %s, refused before execution, once, and stamps its errors with a new request id', async (_name, body, headers, status, code) => {
    const before = log.accessLines().length;
    const { response, result } = await post(gateway, body, { ...headers, 'x-request-id': 'not ok: has spaces' });
    const id = response.headers.get('x-request-id')!;
    expect(id).toMatch(UUID);
    expect(result.errors?.length).toBeGreaterThan(0);
    for (const error of result.errors!) expect(error.extensions).toMatchObject({ requestId: id, ...(code ? { code } : {}) });
    expect(log.accessLines()).toHaveLength(before + 1);
    expect(lineOf(response)).toMatchObject({ status: response.status, subgraphErrors: { count: 0 } });
    if (status !== 200) expect(response.status).toBe(status);
  });

  it('with ACCESS_LOG=false writes no line, and still returns and forwards the request id', async () => {
    const { response, result } = await post(quiet, JSON.stringify({ query: '{ requestIdSeen }' }), { 'x-request-id': 'quiet-1' });
    expect(response.headers.get('x-request-id')).toBe('quiet-1');
    expect(result).toEqual({ data: { requestIdSeen: 'quiet-1' }, extensions: expect.anything() });
    expect(quietLog.accessLines()).toEqual([]);
  });
});
