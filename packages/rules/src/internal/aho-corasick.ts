// An Aho-Corasick automaton over UTF-16 units. Transitions live in one Map
// keyed by `state * 65536 + unit`: one object for the whole automaton keeps
// memory and build time low with tens of thousands of patterns.

const UNITS = 65_536;

/** Finds every occurrence of many patterns in one left-to-right pass. */
export class AhoCorasick {
  readonly #goto = new Map<number, number>();
  readonly #patterns: string[] = [];
  readonly #ids = new Map<string, number>();
  #fail: Int32Array = new Int32Array(1);
  // Outputs of a state, its own and those reached through failure links.
  #out: (number[] | undefined)[] = [undefined];
  #states = 1;
  #built = false;

  /** Number of distinct patterns. */
  get size(): number {
    return this.#patterns.length;
  }

  /** Adds a pattern (once); returns its id. */
  add(pattern: string): number {
    const known = this.#ids.get(pattern);
    if (known !== undefined) return known;
    if (this.#built) throw new Error('automaton already built');

    const id = this.#patterns.length;
    this.#patterns.push(pattern);
    this.#ids.set(pattern, id);

    let state = 0;
    for (let i = 0; i < pattern.length; i++) {
      const key = state * UNITS + pattern.charCodeAt(i);
      let next = this.#goto.get(key);
      if (next === undefined) {
        next = this.#states++;
        this.#goto.set(key, next);
        this.#out.push(undefined);
      }
      state = next;
    }
    (this.#out[state] ??= []).push(id);

    return id;
  }

  /** The length of a pattern, in UTF-16 units. */
  patternLength(id: number): number {
    return (this.#patterns[id] as string).length;
  }

  /** Computes failure links; call once after the last `add()`. */
  build(): void {
    const children = new Map<number, number[]>();
    for (const [key, next] of this.#goto) {
      const state = Math.floor(key / UNITS);
      const list = children.get(state);
      if (list === undefined) children.set(state, [key % UNITS, next]);
      else list.push(key % UNITS, next);
    }

    this.#fail = new Int32Array(this.#states);
    const queue: number[] = [];
    const rootKids = children.get(0) ?? [];
    for (let i = 1; i < rootKids.length; i += 2) queue.push(rootKids[i] as number);

    for (let head = 0; head < queue.length; head++) {
      const state = queue[head] as number;
      const kids = children.get(state);
      if (kids === undefined) continue;

      for (let i = 0; i < kids.length; i += 2) {
        const unit = kids[i] as number;
        const next = kids[i + 1] as number;
        let f = this.#fail[state] as number;
        let target = this.#goto.get(f * UNITS + unit);
        while (target === undefined && f !== 0) {
          f = this.#fail[f] as number;
          target = this.#goto.get(f * UNITS + unit);
        }
        const link = target ?? 0;
        this.#fail[next] = link;

        const inherited = this.#out[link];
        if (inherited !== undefined) {
          const own = this.#out[next];
          this.#out[next] = own === undefined ? inherited : own.concat(inherited);
        }
        queue.push(next);
      }
    }
    this.#built = true;
  }

  /** The state after reading `unit` in `state`. */
  step(state: number, unit: number): number {
    for (;;) {
      const next = this.#goto.get(state * UNITS + unit);
      if (next !== undefined) return next;
      if (state === 0) return 0;
      state = this.#fail[state] as number;
    }
  }

  /** Ids of the patterns that end in `state`, or `undefined`. */
  outputs(state: number): readonly number[] | undefined {
    return this.#out[state];
  }

  /** Every `[id, start, end]` occurrence in `text` (for tests and tools). */
  findAll(text: string): [number, number, number][] {
    const found: [number, number, number][] = [];
    let state = 0;

    for (let i = 0; i < text.length; i++) {
      state = this.step(state, text.charCodeAt(i));
      for (const id of this.outputs(state) ?? []) {
        found.push([id, i + 1 - this.patternLength(id), i + 1]);
      }
    }
    return found;
  }
}
