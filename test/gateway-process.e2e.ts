import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { composeSupergraph } from '../lib/compose.js';
import { eventsResolvers, eventsSdl, peopleResolvers, peopleSdl } from './fixtures/ticks-subgraphs.js';
import { type AdHocSubgraph, startAdHocSubgraph } from './gateway-kit.js';
import { postGraphQL, withCost } from './kit.js';
import { bareEnv, spawnEntry } from './spawn.js';

/** `npm run gateway -- --supergraph FILE --port N` serves any composed supergraph, not only ours. */
describe('the gateway process over a foreign supergraph', () => {
  let events: AdHocSubgraph;
  let people: AdHocSubgraph;
  let workdir: string;
  const children: Array<ReturnType<typeof spawnEntry>> = [];

  beforeAll(async () => {
    events = await startAdHocSubgraph('events', eventsSdl, eventsResolvers);
    people = await startAdHocSubgraph('people', peopleSdl, peopleResolvers);
    workdir = await mkdtemp(path.join(tmpdir(), 'lotabots-gateway-'));
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await events?.close();
    await people?.close();
    await rm(workdir, { recursive: true, force: true });
  });

  const start = async (args: string[]) => {
    const child = spawnEntry('gateway/main.ts', { cwd: workdir, args, env: { ...bareEnv(), DEV_KEY_DIR: path.join(workdir, 'keys'), METRICS_PORT: '0' } });
    children.push(child);
    let output = '';
    return new Promise<{ url: string; child: typeof child }>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /gateway listening on (http:\/\/\S+?\/graphql)/.exec(output);
        if (match) resolve({ url: match[1]!, child });
      });
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${output}`)));
    });
  };

  it('serves a composed supergraph file given with --supergraph and --port', async () => {
    const file = path.join(workdir, 'supergraph.graphql');
    await writeFile(file, composeSupergraph([events, people].map(({ name, url, typeDefs }) => ({ name, url, typeDefs }))));
    const { url, child } = await start(['--supergraph', file, '--port', '0']);
    const { status, body } = await postGraphQL(url, '{ eventsVersion peopleVersion }');
    expect(status).toBe(200);
    expect(body).toEqual(withCost({ data: { eventsVersion: null, peopleVersion: null } }));
    const health = await (await fetch(url.replace(/graphql$/, 'health/subgraphs'))).json();
    expect(health).toEqual({ status: 'ok', subgraphs: { events: 'up', people: 'up' } });
    child.kill('SIGTERM');
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
  });

  it('composes a rover-format supergraph.yaml at start-up, with routing URLs overridden', async () => {
    await writeFile(path.join(workdir, 'events.graphql'), eventsSdl);
    await writeFile(path.join(workdir, 'people.graphql'), peopleSdl);
    const yaml = [
      'subgraphs:',
      '  events: { routing_url: "http://127.0.0.1:1/graphql", schema: { file: events.graphql } }',
      `  people: { routing_url: "${people.url}", schema: { file: people.graphql } }`,
    ].join('\n');
    await writeFile(path.join(workdir, 'supergraph.yaml'), yaml);
    const { url } = await start(['--supergraph-config', path.join(workdir, 'supergraph.yaml'), '--subgraph-urls', `events=${events.url}`, '--port', '0']);
    // The YAML's URL for events (port 1) is dead; only the override makes this answer.
    const { status, body } = await postGraphQL(url, '{ eventsVersion peopleVersion }');
    expect(status).toBe(200);
    expect(body).toEqual(withCost({ data: { eventsVersion: null, peopleVersion: null } }));
    const health = await (await fetch(url.replace(/graphql$/, 'health/subgraphs'))).json();
    expect(health).toEqual({ status: 'ok', subgraphs: { events: 'up', people: 'up' } });
  });

  it('exits 1 with the composition errors when the supergraph.yaml does not compose', async () => {
    await writeFile(path.join(workdir, 'clash.graphql'), 'type Query { eventsVersion: Int }');
    const yaml = `subgraphs:\n  events: { routing_url: "${events.url}", schema: { file: events.graphql } }\n  clash: { routing_url: "${people.url}", schema: { file: clash.graphql } }\n`;
    await writeFile(path.join(workdir, 'broken.yaml'), yaml);
    await expect(start(['--supergraph-config', path.join(workdir, 'broken.yaml')])).rejects.toThrow(/exited with 1:[\s\S]*composition failed/);
  });
});
