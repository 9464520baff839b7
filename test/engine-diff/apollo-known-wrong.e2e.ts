import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { GatewayEngine } from '../../gateway/engine/engine.js';
import { engineFactories } from '../../gateway/engine/engines.js';
import { commerce } from './commerce.js';
import { answer, startEngine, startSupergraph } from './harness.js';
import { requiresArguments } from './requires-arguments.js';

/**
 * The operations of each fixture that `apollo` answers wrongly, so the differential test
 * cannot hold them to apollo's answer: every other engine must give the correct one, key order
 * included, and apollo's wrong answer is recorded (when a new apollo fixes one, its test fails:
 * move the case to the corpus then).
 */
const others = Object.keys(engineFactories).filter((name) => name !== 'apollo');

describe.each([requiresArguments, commerce])('$name supergraph', (fixture) => {
  let stopSubgraphs: (() => Promise<unknown>) | undefined;
  const engines = new Map<string, GatewayEngine>();

  beforeAll(async () => {
    const running = await startSupergraph(fixture);
    stopSubgraphs = running.close;
    for (const [name, factory] of Object.entries(engineFactories)) engines.set(name, await startEngine(factory, running.supergraphSdl));
  });
  afterAll(async () => {
    for (const engine of engines.values()) await engine.close();
    await stopSubgraphs?.();
  });

  describe.each(fixture.apolloGetsWrong ?? [])('$name', (wrong) => {
    const run = (name: string) => answer(engines.get(name)!, { name: wrong.name, query: wrong.query, codes: [] });

    it('apollo answers wrongly (recorded)', async () => {
      const got = await run('apollo');
      expect(got.errors).toEqual([]);
      expect(got.dataJson).toBe(JSON.stringify(wrong.apollo));
      expect(JSON.stringify(wrong.apollo)).not.toBe(JSON.stringify(wrong.correct));
    });

    it.each(others)('%s answers correctly', async (name) => {
      const got = await run(name);
      expect({ data: got.data, errors: got.errors }).toEqual({ data: wrong.correct, errors: [] });
      expect(got.dataJson, 'same keys, different order').toBe(JSON.stringify(wrong.correct));
    });
  });
});
