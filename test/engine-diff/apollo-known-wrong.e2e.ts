import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { GatewayEngine } from '../../gateway/engine/engine.js';
import { engineFactories } from '../../gateway/engine/engines.js';
import { answer, startEngine, startSupergraph } from './harness.js';
import { requiresArguments, requiresArgumentsApolloGetsWrong } from './requires-arguments.js';

/**
 * Operations `apollo` answers wrongly, so the differential test cannot hold them to apollo's
 * answer: every other engine must give the correct one, and apollo's wrong answer is recorded
 * (when a new apollo fixes it, that test fails: move the case to the corpus then).
 */
const others = Object.keys(engineFactories).filter((name) => name !== 'apollo');

describe('@requires of a field with arguments, also selected with other arguments', () => {
  let stopSubgraphs: (() => Promise<unknown>) | undefined;
  const engines = new Map<string, GatewayEngine>();

  beforeAll(async () => {
    const running = await startSupergraph(requiresArguments);
    stopSubgraphs = running.close;
    for (const name of Object.keys(engineFactories)) engines.set(name, await startEngine(engineFactories[name]!, running.supergraphSdl));
  });
  afterAll(async () => {
    for (const engine of engines.values()) await engine.close();
    await stopSubgraphs?.();
  });

  describe.each(requiresArgumentsApolloGetsWrong)('$name', (wrong) => {
    it('apollo answers wrongly (recorded)', async () => {
      const got = await answer(engines.get('apollo')!, { name: wrong.name, query: wrong.query, codes: [] });
      expect({ data: got.data, errors: got.errors }).toEqual({ data: wrong.apollo, errors: [] });
      expect(wrong.apollo).not.toEqual(wrong.correct);
    });

    it.each(others)('%s answers correctly', async (name) => {
      const got = await answer(engines.get(name)!, { name: wrong.name, query: wrong.query, codes: [] });
      expect({ data: got.data, errors: got.errors }).toEqual({ data: wrong.correct, errors: [] });
      expect(got.dataJson).toBe(JSON.stringify(wrong.correct));
    });
  });
});
