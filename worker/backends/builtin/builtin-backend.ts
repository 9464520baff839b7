import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import type { BackendOutput, InferenceBackend } from '../backend.js';
import { MarkovModel, render, seededRandom, tokenize } from './markov.js';
import { StopSequences } from './stop-sequences.js';

/** The model id the built-in backend serves (reference data of the inference.Model table). */
export const BUILTIN_MODEL = 'lotabots-tiny-cpu';

/** Our own prose, written for this purpose (no third-party text); a few tens of KB. */
const CORPUS = new URL('./corpus.txt', import.meta.url);

export interface BuiltinBackendOptions {
  /**
   * Pause before each token, so a development stream looks like a real one; 0 streams as fast
   * as the CPU generates (tests).
   */
  tokenDelayMs: number;
  /** Text to learn from; the shipped corpus when unset. */
  corpus?: string;
}

/**
 * The development backend: a word-level Markov chain learnt at start-up from a text shipped
 * with the project (`corpus.txt`). It needs no GPU, no network and no download, so
 * `npm start` streams generated text anywhere. Same request and same seed (or temperature 0)
 * give the same completion. Not a language model: do not serve it to users.
 */
export function createBuiltinBackend(options: BuiltinBackendOptions): InferenceBackend {
  const model = new MarkovModel(options.corpus ?? readFileSync(CORPUS, 'utf8'));
  return {
    name: 'builtin',
    models: [BUILTIN_MODEL],
    async *generate(request, signal): AsyncGenerator<BackendOutput> {
      const prompt = request.messages.map((message) => message.content).join('\n');
      const random = seededRandom(request.seed ?? randomInt(2 ** 32));
      const tokens = model.continue(prompt, { temperature: request.temperature, topP: request.topP, random });
      const stops = new StopSequences(request.stop);
      let completionTokens = 0;
      const emit = async function* (texts: string[]): AsyncGenerator<BackendOutput> {
        for (const text of texts) {
          if (options.tokenDelayMs > 0) await sleep(options.tokenDelayMs, undefined, { signal });
          if (signal.aborted) return;
          completionTokens++;
          yield { type: 'token', text };
        }
      };
      for (let produced = 0; produced < request.maxTokens && !stops.stopped && !signal.aborted; produced++) {
        yield* emit(stops.push(render(tokens.next().value!, produced === 0)));
      }
      yield* emit(stops.flush());
      yield { type: 'usage', promptTokens: tokenize(prompt).length, completionTokens };
    },
  };
}
