import { printSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { GatewayEngine } from '../../gateway/engine/engine.js';
import { engineFactories } from '../../gateway/engine/engines.js';
import { broken } from './broken-subgraph.js';
import { commerce } from './commerce.js';
import { type Answer, answers, type DiffCase, type EngineFactory, startEngine, startSupergraph } from './harness.js';
import { media } from './media.js';
import { outage } from './outage.js';
import { requiresArguments } from './requires-arguments.js';

/**
 * The differential test of the engine seam: every operation of each corpus runs through
 * `apollo` (the reference) and through every engine of `engineFactories` (apollo included, as
 * a second instance: that proves the fixtures answer the same twice), which must answer with
 * the same `data`, key order included, and equivalent errors (message, path, extensions.code).
 */
const factories = new Map<string, EngineFactory>(Object.entries(engineFactories));
const candidates = [...factories.keys()];

describe.each([commerce, media, outage, requiresArguments, broken])('$name supergraph', (fixture) => {
  let stopSubgraphs: (() => Promise<unknown>) | undefined;
  let reference: GatewayEngine;
  const engines = new Map<string, GatewayEngine>();
  const expected = new Map<DiffCase, Promise<Answer[]>>();
  // Each case's reference answer once, before any engine runs it (mutations upsert, so the rest see the same state).
  const expectedFor = (diffCase: DiffCase) => {
    if (!expected.has(diffCase)) expected.set(diffCase, answers(reference, diffCase));
    return expected.get(diffCase)!;
  };

  beforeAll(async () => {
    const running = await startSupergraph(fixture);
    stopSubgraphs = running.close;
    reference = await startEngine(engineFactories.apollo!, running.supergraphSdl);
    for (const [name, factory] of factories) engines.set(name, await startEngine(factory, running.supergraphSdl));
  });
  afterAll(async () => {
    for (const engine of [reference, ...engines.values()]) await engine?.close();
    await stopSubgraphs?.();
  });

  it.each(candidates)('%s serves the API schema apollo serves', (name) => {
    expect(printSchema(engines.get(name)!.schema)).toBe(printSchema(reference.schema));
  });

  describe.each(fixture.cases)('$name', (diffCase) => {
    it('apollo answers with the errors the case is about', async () => {
      const want = await expectedFor(diffCase);
      expect(want.flatMap(({ errors }) => errors.map((error) => error.code))).toEqual(diffCase.codes);
    });

    it.each(candidates)('%s answers as apollo', async (name) => {
      const want = await expectedFor(diffCase);
      const got = await answers(engines.get(name)!, diffCase);
      const compared = (all: Answer[]) => all.map(({ data, errors }) => ({ data, errors }));
      expect(compared(got)).toEqual(compared(want));
      expect(got.map(({ dataJson }) => dataJson), 'same keys, different order').toEqual(want.map(({ dataJson }) => dataJson));
    });
  });
});
