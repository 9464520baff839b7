/**
 * A word-level Markov chain (order 2, backing off to order 1): the built-in development
 * model. It is built from a text at start-up in milliseconds and generates text that reads
 * like its corpus, locally, on a CPU, with no download. It is a stand-in for a language
 * model so that the whole job flow (queue, streaming, cancellation) runs anywhere, not a
 * language model.
 */

/** Words (with inner apostrophes) and single punctuation marks. */
const TOKEN_PATTERN = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu;
/** Marks written without a space before them. */
const ATTACHED = new Set(['.', ',', ';', ':', '!', '?', ')', '’', "'"]);
/** Where a sentence ends: the context a fresh start begins from. */
const SENTENCE_END = '.';

export const tokenize = (text: string): string[] => text.match(TOKEN_PATTERN) ?? [];

/** How a token reads after the text before it. */
export const render = (token: string, first: boolean): string => (first || ATTACHED.has(token) ? token : ` ${token}`);

interface Transitions {
  next: string[];
  counts: number[];
}

export interface SamplingOptions {
  /** 0: always the most frequent continuation (deterministic without a seed). */
  temperature: number;
  /** Nucleus sampling: only the most likely continuations whose probabilities add up to this. */
  topP: number;
  /** Uniform in [0, 1); seeded for reproducible output. */
  random: () => number;
}

export class MarkovModel {
  readonly #byTwo = new Map<string, Transitions>();
  readonly #byOne = new Map<string, Transitions>();

  constructor(corpus: string) {
    const tokens = tokenize(corpus);
    if (!tokens.includes(SENTENCE_END)) throw new Error('the corpus needs at least one sentence ending with "."');
    for (let i = 1; i < tokens.length; i++) {
      add(this.#byOne, key(tokens[i - 1]!), tokens[i]!);
      if (i > 1) add(this.#byTwo, key(tokens[i - 2]!, tokens[i - 1]!), tokens[i]!);
    }
  }

  /**
   * An endless continuation of `prompt`, one token at a time: from the prompt's last two
   * tokens when the corpus knows them, else its last one, else from a sentence start.
   */
  *continue(prompt: string, options: SamplingOptions): Generator<string> {
    const context = tokenize(prompt).slice(-2);
    if (context.length === 0 || !this.#byOne.has(key(context.at(-1)!))) context.splice(0, context.length, SENTENCE_END);
    for (;;) {
      const transitions =
        (context.length === 2 ? this.#byTwo.get(key(context[0]!, context[1]!)) : undefined) ??
        this.#byOne.get(key(context.at(-1)!)) ??
        this.#byOne.get(key(SENTENCE_END))!;
      const token = pick(transitions, options);
      yield token;
      context.push(token);
      if (context.length > 2) context.shift();
    }
  }
}

const key = (...tokens: string[]) => tokens.join(' ').toLowerCase();

function add(table: Map<string, Transitions>, context: string, token: string): void {
  let transitions = table.get(context);
  if (!transitions) table.set(context, (transitions = { next: [], counts: [] }));
  const at = transitions.next.indexOf(token);
  if (at === -1) {
    transitions.next.push(token);
    transitions.counts.push(1);
  } else {
    transitions.counts[at]!++;
  }
}

function pick({ next, counts }: Transitions, { temperature, topP, random }: SamplingOptions): string {
  if (temperature <= 0) return next[counts.indexOf(Math.max(...counts))]!;
  // count^(1/T) is softmax(log count / T): T < 1 sharpens, T > 1 flattens.
  const weights = counts.map((count, i) => ({ token: next[i]!, weight: count ** (1 / temperature) }));
  weights.sort((a, b) => b.weight - a.weight);
  const total = weights.reduce((sum, { weight }) => sum + weight, 0);
  const nucleus: typeof weights = [];
  let covered = 0;
  for (const candidate of weights) {
    nucleus.push(candidate);
    covered += candidate.weight / total;
    if (covered >= topP) break;
  }
  let target = random() * nucleus.reduce((sum, { weight }) => sum + weight, 0);
  for (const candidate of nucleus) {
    target -= candidate.weight;
    if (target < 0) return candidate.token;
  }
  return nucleus.at(-1)!.token;
}

/** mulberry32: a small, fast PRNG; the same seed gives the same sequence everywhere. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
