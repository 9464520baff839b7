import { EventEmitter, on } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { watchSupergraph } from '../gateway/supergraph.js';
import { composeSupergraph } from '../lib/compose.js';
import { type AdHocGateway, type AdHocSubgraph, startAdHocGateway, startAdHocSubgraph } from './gateway-kit.js';

type Result = { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };

const V1 = 'type Query { slow: String } type Subscription { beats: Int }';
/** What the subgraph serves all along; the gateway learns of `extra` only from the new supergraph. */
const V2 = 'type Query { slow: String extra: String } type Subscription { beats: Int }';

/** A promise and its resolver. */
function signal<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('hot reload of the supergraph file', () => {
  let subgraph: AdHocSubgraph;
  let gateway: AdHocGateway;
  let dir: string;
  let file: string;
  let watcher: { close(): void } | null;
  let v2Sdl: string;
  const beats = new EventEmitter();
  const slowEntered = signal();
  const slowRelease = signal<string>();
  const subscribed = signal();
  const reloaded = signal();
  const failed = signal<unknown>();

  beforeAll(async () => {
    subgraph = await startAdHocSubgraph('live', V2, {
      Query: {
        slow: () => {
          slowEntered.resolve();
          return slowRelease.promise;
        },
        extra: () => 'new field',
      },
      Subscription: {
        beats: {
          async *subscribe() {
            const events = on(beats, 'beat');
            subscribed.resolve();
            for await (const [n] of events) yield { beats: n };
          },
        },
      },
    });
    const sdlOf = (typeDefs: string) => composeSupergraph([{ name: 'live', url: subgraph.url, typeDefs }]);
    gateway = await startAdHocGateway([{ ...subgraph, typeDefs: V1 }]);
    dir = await mkdtemp(path.join(tmpdir(), 'lotabots-reload-'));
    file = path.join(dir, 'supergraph.graphql');
    await writeFile(file, sdlOf(V1));
    watcher = watchSupergraph(
      { sdlFile: file, configFile: 'unused.yaml', urlOverrides: {} },
      async (sdl) => {
        await gateway.gateway.reloadSupergraph(sdl);
        reloaded.resolve();
      },
      (error) => failed.resolve(error),
    );
    v2Sdl = sdlOf(V2);
  });
  afterAll(async () => {
    watcher?.close();
    slowRelease.resolve('late');
    await gateway?.close();
    await subgraph?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const query = async (document: string) => {
    const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: document }) });
    return (await response.json()) as Result;
  };

  it('keeps a request in flight and an open graphql-ws subscription across a reload, and serves the new field after it', async () => {
    const client = createClient({ url: gateway.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    const events = client.iterate({ query: 'subscription { beats }' })[Symbol.asyncIterator]();
    const firstEvent = events.next();
    await subscribed.promise;
    beats.emit('beat', 1);
    expect((await firstEvent).value).toEqual({ data: { beats: 1 } });

    const inFlight = query('{ slow }');
    await slowEntered.promise;
    expect((await query('{ extra }')).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    await writeFile(file, v2Sdl);
    await reloaded.promise;
    expect(await query('{ extra }')).toMatchObject({ data: { extra: 'new field' } });

    slowRelease.resolve('finished on the old schema');
    expect(await inFlight).toMatchObject({ data: { slow: 'finished on the old schema' } });
    const secondEvent = events.next();
    beats.emit('beat', 2);
    expect((await secondEvent).value).toEqual({ data: { beats: 2 } });
    await events.return?.();
    await client.dispose();
  });

  it('keeps serving the current supergraph when the new file is broken', async () => {
    await writeFile(file, 'this is not a supergraph {');
    expect(String(await failed.promise)).toMatch(/Syntax Error|supergraph/i);
    expect(await query('{ extra }')).toMatchObject({ data: { extra: 'new field' } });
  });

  it('refuses a supergraph that changes an authorization directive (read at start-up: restart to apply)', async () => {
    const guarded = composeSupergraph([
      { name: 'live', url: subgraph.url, typeDefs: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@authenticated"]) ${V2.replace('extra: String', 'extra: String @authenticated')}` },
    ]);
    await expect(gateway.gateway.reloadSupergraph(guarded)).rejects.toThrow(/authorization or cost directives/);
    expect(await query('{ extra }')).toMatchObject({ data: { extra: 'new field' } });
  });
});
