import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { deleteKeysWithPrefix } from '../lib/redis.js';
import { testEnv } from './env.js';
import { startTestPlatform, type TestPlatform } from './kit.js';
import { bareEnv, repoRoot, spawnEntry } from './spawn.js';

/** `@listSize(assumedSize: 5)` × one object: 5 points a query, 6 queries fill the bucket below. */
const CHEAP_QUERY = '{ autonomyLevels { level } }';
const BUCKET_SIZE = 30;

interface GatewayChild {
  url: string;
}

/** Whatever the gateway answered, with its status, body and Retry-After header. */
async function ask(url: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: CHEAP_QUERY }),
  });
  const body = (await response.json()) as {
    data?: unknown;
    errors?: Array<{ extensions?: { code?: string } }>;
    extensions: { cost: { requestedQueryCost: number; throttleStatus: { currentlyAvailable: number } } };
  };
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body };
}

/**
 * Two gateway processes (`gateway/main.ts`) over one platform's subgraphs, with the same Redis and
 * key prefix: the cost budget lives in Redis, so a caller cannot double it by alternating gateways.
 */
describe('two gateway processes share one budget through Redis', () => {
  let platform: TestPlatform;
  let workdir: string;
  const keyPrefix = `lotabots_test:${randomBytes(6).toString('hex')}:shared:`;
  const gateways: GatewayChild[] = [];
  const children: Array<ReturnType<typeof spawnEntry>> = [];

  const startGateway = (): Promise<GatewayChild> => {
    const child = spawnEntry('gateway/main.ts', {
      cwd: workdir,
      args: ['--port', '0'],
      env: {
        ...bareEnv(),
        DEV_KEY_DIR: path.join(workdir, 'keys'),
        METRICS_PORT: '0',
        // Its URL is read from the start-up line it logs.
        LOG_LEVEL: 'info',
        SUPERGRAPH_CONFIG: path.join(repoRoot, 'supergraph.yaml'),
        SUBGRAPH_URLS: Object.entries(platform.subgraphUrls)
          .map(([name, url]) => `${name}=${url}`)
          .join(','),
        IDENTITY_SIGNING_SECRET: new TextDecoder().decode(platform.secrets.identitySecret),
        REDIS_URL: testEnv.redisUrl,
        REDIS_KEY_PREFIX: keyPrefix,
        // A tiny bucket that restores about one point in 17 minutes: what is spent stays spent.
        RATE_LIMIT_PLANS: JSON.stringify({ free: { bucketSize: BUCKET_SIZE, restorePerSecond: 0.001, requestsPerWindow: 1_000, windowSeconds: 60 } }),
      },
    });
    children.push(child);
    let output = '';
    return new Promise<GatewayChild>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`gateway exited with ${code}:\n${output}`));
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /gateway listening on (http:\/\/\S+?\/graphql)/.exec(output);
        if (!match) return;
        child.off('exit', onExit);
        resolve({ url: match[1]! });
      });
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', onExit);
    }).then(async (gateway) => {
      gateways.push(gateway);
      const ready = gateway.url.replace(/graphql$/, 'ready');
      while ((await fetch(ready).then((response) => response.status, () => 0)) !== 200) {
        if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode} before ready:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return gateway;
    });
  };

  beforeAll(async () => {
    platform = await startTestPlatform();
    workdir = await mkdtemp(path.join(tmpdir(), 'lotabots-shared-budget-'));
    await Promise.all([startGateway(), startGateway()]);
  }, 180_000);
  afterAll(async () => {
    await Promise.all(
      children.map((child) => {
        if (child.exitCode !== null || child.signalCode !== null) return undefined;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        return exited;
      }),
    );
    await deleteKeysWithPrefix(testEnv.redisUrl, keyPrefix);
    if (workdir) await rm(workdir, { recursive: true, force: true });
    await platform?.stop();
  }, 60_000);

  it('spends one bucket across both gateways and refuses on the other once it is empty', async () => {
    const [a, b] = gateways as [GatewayChild, GatewayChild];
    expect(a.url).not.toBe(b.url);
    let expected = BUCKET_SIZE;
    let turn = 0;
    // Alternate A, B, A, … while the bucket holds a query's cost; each answer reflects both gateways' spending.
    for (;;) {
      const gateway = turn++ % 2 === 0 ? a : b;
      const { status, body } = await ask(gateway.url);
      const cost = body.extensions.cost.requestedQueryCost;
      expect(cost).toBeGreaterThan(0);
      if (cost > expected) {
        expect(status).toBe(429);
        break;
      }
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      expected -= cost;
      // Restoring 0.001 a second adds less than a point during the test (the bucket reports whole points).
      expect(Math.floor(body.extensions.cost.throttleStatus.currentlyAvailable)).toBe(expected);
    }
    expect(turn).toBeGreaterThan(2);
    // The last one was refused; the other gateway refuses too: the empty bucket is the same one.
    const other = turn % 2 === 0 ? a : b;
    const refused = await ask(other.url);
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(Math.floor(refused.body.extensions.cost.throttleStatus.currentlyAvailable)).toBe(expected);
  }, 120_000);
});
