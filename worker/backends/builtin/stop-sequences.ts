/**
 * Cuts a token stream at the first stop sequence, as OpenAI-compatible servers do: the
 * completion ends just before it and never contains it. Tokens that might begin a stop
 * sequence are held back until the following ones show whether they do.
 */
export class StopSequences {
  readonly #stops: string[];
  #held: string[] = [];
  #stopped = false;

  constructor(stops: readonly string[]) {
    this.#stops = stops.filter((stop) => stop.length > 0);
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Takes the next token; answers the tokens that may be emitted now (the last one cut short at a stop). */
  push(token: string): string[] {
    if (this.#stopped) return [];
    this.#held.push(token);
    const text = this.#held.join('');
    const cut = this.#firstStop(text);
    if (cut !== -1) {
      this.#stopped = true;
      return this.#take(cut);
    }
    return this.#mayStartStop(text) ? [] : this.#take(text.length);
  }

  /** The tokens still held when the stream ends without a stop. */
  flush(): string[] {
    return this.#stopped ? [] : this.#take(Infinity);
  }

  #firstStop(text: string): number {
    let first = -1;
    for (const stop of this.#stops) {
      const at = text.indexOf(stop);
      if (at !== -1 && (first === -1 || at < first)) first = at;
    }
    return first;
  }

  /** Whether some end of `text` is the beginning of a stop sequence. */
  #mayStartStop(text: string): boolean {
    return this.#stops.some((stop) => {
      for (let length = Math.min(stop.length - 1, text.length); length > 0; length--) {
        if (text.endsWith(stop.slice(0, length))) return true;
      }
      return false;
    });
  }

  /** Releases held tokens covering the first `length` characters (the last one cut to fit). */
  #take(length: number): string[] {
    const out: string[] = [];
    let left = length;
    for (const token of this.#held) {
      if (left <= 0) break;
      out.push(token.length <= left ? token : token.slice(0, left));
      left -= token.length;
    }
    this.#held = [];
    return out;
  }
}
