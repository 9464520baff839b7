import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type AdHocSubgraph, startAdHocSubgraph } from './gateway-kit.js';
import { type GatewayProcess, spawnGateway } from './gateway-process-kit.js';

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });

/** A Redis of this file's own (the shared one must never stop), answering PING before it resolves. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
  });
  return child;
}

async function stopRedis(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Polls `url` until it answers `status` (each poll a fresh GET); the test's timeout bounds it. */
async function untilStatus(url: string, status: number): Promise<void> {
  for (;;) {
    const answered = await fetch(url).then((r) => r.status, () => 0);
    if (answered === status) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const probesOf = (subgraph: AdHocSubgraph) => subgraph.received.filter((query) => query === '{__typename}').length;

/** The gateway process's health, readiness and metrics endpoints (issue 13, items 5 and 11). */
describe('gateway health, readiness and metrics', () => {
  let subgraph: AdHocSubgraph;
  let gateway: GatewayProcess;
  let redisPort: number;
  let redis: ChildProcess | undefined;

  beforeAll(async () => {
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    subgraph = await startAdHocSubgraph('things', 'type Query { thing: Int }', { Query: { thing: () => 1 } });
    gateway = await spawnGateway([subgraph], {
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      // One probe per subgraph for the whole file, however often /health/subgraphs is called.
      HEALTH_SUBGRAPHS_CACHE_MS: '600000',
    });
  }, 120_000);

  afterAll(async () => {
    await gateway?.dispose();
    await subgraph?.close();
    await stopRedis(redis);
  });

  it('regression: /health is liveness only and never probes the subgraphs', async () => {
    const before = probesOf(subgraph);
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${gateway.base}/health`)));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({ status: 'ok' });
    }
    expect(probesOf(subgraph)).toBe(before);
  });

  it('regression: a flood of /health/subgraphs calls probes each subgraph once per cache period', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(`${gateway.base}/health/subgraphs`)));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({ status: 'ok', subgraphs: { things: 'up' } });
    }
    expect(probesOf(subgraph)).toBe(1);
  });

  it('regression: /metrics is served on METRICS_PORT only, not on the public GraphQL port', async () => {
    expect((await fetch(`${gateway.base}/metrics`)).status).toBe(404);
    const metrics = await fetch(gateway.metricsUrl);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^lotabots_nodejs_heap_size_used_bytes\{service="gateway"\} \d/m);
    // The metrics port serves metrics only.
    expect((await fetch(gateway.metricsUrl.replace(/metrics$/, 'graphql'))).status).toBe(404);
  });

  it('regression: /ready answers 503 while Redis is down, and 200 again once it is back', async () => {
    expect((await fetch(`${gateway.base}/ready`)).status).toBe(200);
    await stopRedis(redis);
    await untilStatus(`${gateway.base}/ready`, 503);
    // Alive all the same: liveness does not depend on Redis, so Kubernetes does not restart it.
    expect((await fetch(`${gateway.base}/health`)).status).toBe(200);
    redis = await startRedis(redisPort);
    await untilStatus(`${gateway.base}/ready`, 200);
  }, 60_000);
});
