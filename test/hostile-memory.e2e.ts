import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { deployedGateway } from '../bench/lib/deployed-gateway.js';
import { type GatewayProcess, startGatewayProcess } from '../bench/lib/gateway-process.js';
import { type HostileOutcome, oversizedBodies } from '../bench/lib/hostile-corpus.js';
import { freshSecrets } from '../bench/lib/platform.js';
import { composeSupergraph } from '../lib/compose.js';
import { deleteKeysWithPrefix } from '../lib/redis.js';
import { testEnv } from './env.js';
import { eventsResolvers, eventsSdl } from './fixtures/ticks-subgraphs.js';
import { type AdHocSubgraph, startAdHocSubgraph } from './gateway-kit.js';
import { postGraphQL } from './kit.js';

/** Concurrent 20 MiB POSTs of each kind (Content-Length, chunked) per wave. */
const PER_KIND = 3;
const WAVES = 2;

/**
 * The gateway exactly as Kubernetes runs it: the compiled build (`npm run build`), the
 * manifest's NODE_OPTIONS (a 384 MB heap), production mode with real Redis, in a process of
 * its own, so its RSS is read from /proc and compared with the container's memory limit.
 */
/** POSTs headers announcing a 20 MiB body, writes none of it, and resolves with the status. */
function announceOversizedBody(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(20 * 1024 * 1024) } }, (response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
      request.destroy();
    });
    request.on('error', reject);
    request.flushHeaders();
  });
}

describe('the gateway as deployed, under oversized anonymous POSTs', () => {
  const deployed = deployedGateway();
  const keyPrefix = `lotabots_test_hostile:${randomBytes(6).toString('hex')}:`;
  let events: AdHocSubgraph;
  let workdir: string;
  let gateway: GatewayProcess;

  beforeAll(async () => {
    events = await startAdHocSubgraph('events', eventsSdl, eventsResolvers);
    workdir = await mkdtemp(path.join(tmpdir(), 'lotabots-hostile-'));
    const supergraph = path.join(workdir, 'supergraph.graphql');
    await writeFile(supergraph, composeSupergraph([{ name: events.name, url: events.url, typeDefs: events.typeDefs }]));
    const secrets = await freshSecrets();
    gateway = await startGatewayProcess({
      env: {
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        NODE_OPTIONS: deployed.nodeOptions,
        SUPERGRAPH: supergraph,
        REDIS_URL: testEnv.redisUrl,
        REDIS_KEY_PREFIX: keyPrefix,
        IDENTITY_SIGNING_SECRET: secrets.identitySecret,
        JWT_PUBLIC_KEY: secrets.publicKeyPem,
        JWT_KEY_ID: secrets.keyId,
      },
    });
  }, 120_000);
  afterAll(async () => {
    await gateway?.stop();
    await events?.close();
    if (workdir) await rm(workdir, { recursive: true, force: true });
    await deleteKeysWithPrefix(testEnv.redisUrl, keyPrefix);
  }, 60_000);

  it('runs with the manifest\'s heap ceiling and memory limit', () => {
    expect(deployed.nodeOptions).toMatch(/--max-old-space-size=\d+/);
    expect(deployed.memoryLimitBytes).toBeGreaterThan(0);
  });

  it(
    'regression: one 20 MiB anonymous POST ran the gateway out of heap; now concurrent ones get 413, it stays up and under its memory limit',
    async () => {
      expect((await postGraphQL(gateway.url, '{ eventsVersion }')).status).toBe(200);
      await gateway.resetPeak();
      const outcomes: Array<{ name: string; outcome: HostileOutcome }> = [];
      for (let wave = 0; wave < WAVES; wave++) {
        const requests = oversizedBodies.flatMap((request) => Array.from({ length: PER_KIND }, () => request));
        outcomes.push(...(await Promise.all(requests.map(async (request) => ({ name: request.name, outcome: await request.send(gateway.url) })))));
      }
      // Each is refused with 413; the refusal closes the connection, which a client still
      // writing its body may see before it reads the 413.
      for (const { name, outcome } of outcomes) expect([413, 'closed'], name).toContain(outcome);
      // Which of those read their 413 before the close depends on scheduling; a client that
      // announces 20 MiB and waits before writing always reads it.
      expect(await announceOversizedBody(gateway.url)).toBe(413);

      expect(gateway.alive()).toBe(true);
      const after = await postGraphQL(gateway.url, '{ eventsVersion }');
      expect(after.status).toBe(200);
      expect(after.body.errors).toBeUndefined();
      const memory = await gateway.memory();
      // VmHWM: the most the process was ever resident (since the reset above, where allowed).
      expect(memory!.hwmKiB * 1024).toBeLessThan(deployed.memoryLimitBytes);
    },
    120_000,
  );
});
