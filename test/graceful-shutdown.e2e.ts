import http from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type AdHocSubgraph, startAdHocSubgraph } from './gateway-kit.js';
import { type GatewayProcess, spawnGateway } from './gateway-process-kit.js';
import { withCost } from './kit.js';

interface Outcome {
  status?: number;
  connection?: string | undefined;
  body?: string;
  /** The error code (ECONNRESET, ECONNREFUSED, …) when no complete response came back. */
  error?: string;
}

/** POSTs `query` over `agent` and waits for the whole response; never throws. */
function post(base: string, agent: http.Agent | false, query: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const request = http.request(`${base}/graphql`, { method: 'POST', agent, headers: { 'content-type': 'application/json', accept: 'application/json' } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, connection: response.headers.connection, body }));
      response.on('error', (error: NodeJS.ErrnoException) => resolve({ status: response.statusCode, error: error.code ?? error.message }));
    });
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    request.end(JSON.stringify({ query }));
  });
}

/** GET `url` on a fresh connection: its status, or the error code. */
const probe = (url: string) =>
  new Promise<number | string>((resolve) => {
    http
      .get(url, { agent: false }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode!));
      })
      .on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });

/**
 * The Kubernetes drain sequence on the real gateway process (issue 13, item 6): after SIGTERM
 * `/ready` answers 503 while the gateway still serves for SHUTDOWN_DRAIN_DELAY_MS, every
 * response then says `Connection: close` so kept-alive clients move elsewhere, the listener
 * stops accepting, and a request in flight finishes before the process exits 0.
 */
describe('gateway shutdown', () => {
  let subgraph: AdHocSubgraph;
  let gateway: GatewayProcess;
  let slowArrived!: () => void;
  const slowStarted = new Promise<void>((resolve) => (slowArrived = resolve));
  let releaseSlow!: () => void;
  const slowReleased = new Promise<void>((resolve) => (releaseSlow = resolve));

  beforeAll(async () => {
    subgraph = await startAdHocSubgraph('clock', 'type Query { fast: Int slow: Int }', {
      Query: {
        fast: () => 1,
        slow: async () => {
          slowArrived();
          await slowReleased;
          return 42;
        },
      },
    });
    gateway = await spawnGateway([subgraph], {
      // Long enough for the checks below on a loaded machine; production's default is 5 s.
      SHUTDOWN_DRAIN_DELAY_MS: '5000',
      SHUTDOWN_GRACE_MS: '60000',
      SUBGRAPH_TIMEOUT_MS: '60000',
    });
  });

  afterAll(async () => {
    releaseSlow?.();
    await gateway?.dispose();
    await subgraph?.close();
  });

  it('regression: cuts no accepted request: keep-alive clients are told to reconnect, the in-flight request completes, exit 0', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const slow = post(gateway.base, agent, '{ slow }');
    await slowStarted;

    // Four keep-alive clients, each sending one request after another on its connection until a
    // response says `Connection: close`, as a client behind a load balancer would then reconnect
    // elsewhere.
    const outcomes: Outcome[] = [];
    let warmedUp!: () => void;
    const allWarm = new Promise<void>((resolve) => (warmedUp = resolve));
    let warm = 0;
    const client = async () => {
      for (let sent = 0; ; sent++) {
        const outcome = await post(gateway.base, agent, '{ fast }');
        outcomes.push(outcome);
        if (sent === 2 && ++warm === 4) warmedUp();
        if (outcome.error || outcome.connection === 'close') return;
      }
    };
    const clients = Promise.all([client(), client(), client(), client()]);
    await allWarm;

    gateway.child.kill('SIGTERM');
    let ready = await probe(`${gateway.base}/ready`);
    while (ready === 200) ready = await probe(`${gateway.base}/ready`);
    // Still accepting (a new connection got an answer), but out of rotation.
    expect(ready).toBe(503);
    await clients;

    await gateway.printed(/stopped accepting/);
    expect(await probe(`${gateway.base}/ready`)).toBe('ECONNREFUSED');
    releaseSlow();

    const slowOutcome = await slow;
    expect({ ...slowOutcome, body: JSON.parse(slowOutcome.body!) }).toEqual({ status: 200, connection: 'close', body: withCost({ data: { slow: 42 } }) });
    expect(await gateway.exitCode).toBe(0);
    for (const outcome of outcomes) {
      expect(outcome.error, JSON.stringify(outcome)).toBeUndefined();
      expect(outcome.status).toBe(200);
      expect(JSON.parse(outcome.body!)).toEqual(withCost({ data: { fast: 1 } }));
    }
    // Every client was told to close its kept-alive connection by a complete response.
    expect(outcomes.filter((o) => o.connection === 'close')).toHaveLength(4);
    agent.destroy();
  });
});
