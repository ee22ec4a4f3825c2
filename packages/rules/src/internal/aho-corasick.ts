// An Aho-Corasick automaton over UTF-16 units. While patterns are added,
// transitions live in one Map keyed by `state * 65536 + unit`; `build()`
// turns them into flat arrays (a dense table for the root, sorted child
// lists for the other states), which are compact and fast to read.

const UNITS = 65_536;

/** Finds every occurrence of many patterns in one left-to-right pass. */
export class AhoCorasick {
  readonly #goto = new Map<number, number>();
  readonly #patterns: string[] = [];
  readonly #ids = new Map<string, number>();
  #fail: Int32Array = new Int32Array(1);
  #first: Int32Array = new Int32Array(2);
  #units: Uint16Array = new Uint16Array(0);
  #targets: Int32Array = new Int32Array(0);
  #root: Int32Array = new Int32Array(0);
  // Outputs of a state, its own and those reached through failure links,
  // while the automaton is built; then flat: state s outputs
  // #outIds[#outFirst[s]] up to #outIds[#outFirst[s + 1]] (excluded).
  #out: (number[] | undefined)[] = [undefined];
  #outFirst: Int32Array = new Int32Array(2);
  #outIds: Int32Array = new Int32Array(0);
  #lengths: Int32Array = new Int32Array(0);
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

  /** The length of a pattern, in UTF-16 units (after `build()`). */
  patternLength(id: number): number {
    return this.#lengths[id] as number;
  }

  /** Computes failure links; call once after the last `add()`. */
  build(): void {
    // Children of each state in CSR form, sorted by unit, for a binary
    // search; the root's children in a dense table, as most units of a
    // message are read at the root.
    const children: number[][] = Array.from({ length: this.#states }, () => []);
    for (const [key, next] of this.#goto)
      children[Math.floor(key / UNITS)]?.push(key % UNITS, next);

    const first = new Int32Array(this.#states + 1);
    let edges = 0;
    for (let s = 0; s < this.#states; s++) {
      first[s] = edges;
      edges += (children[s] as number[]).length / 2;
    }
    first[this.#states] = edges;

    const units = new Uint16Array(edges);
    const targets = new Int32Array(edges);
    for (let s = 0; s < this.#states; s++) {
      const kids = children[s] as number[];
      const order = Array.from({ length: kids.length / 2 }, (_, i) => i).sort(
        (a, b) => (kids[2 * a] as number) - (kids[2 * b] as number),
      );
      order.forEach((k, i) => {
        units[(first[s] as number) + i] = kids[2 * k] as number;
        targets[(first[s] as number) + i] = kids[2 * k + 1] as number;
      });
    }
    this.#first = first;
    this.#units = units;
    this.#targets = targets;
    this.#root = new Int32Array(UNITS);
    for (let e = 0; e < (first[1] as number); e++)
      this.#root[units[e] as number] = targets[e] as number;
    this.#goto.clear();

    this.#fail = new Int32Array(this.#states);
    const queue: number[] = [];
    for (let e = 0; e < (first[1] as number); e++) queue.push(targets[e] as number);

    for (let head = 0; head < queue.length; head++) {
      const state = queue[head] as number;
      for (let e = first[state] as number; e < (first[state + 1] as number); e++) {
        const unit = units[e] as number;
        const next = targets[e] as number;
        let f = this.#fail[state] as number;
        let target = this.#child(f, unit);
        while (target < 0 && f !== 0) {
          f = this.#fail[f] as number;
          target = this.#child(f, unit);
        }
        const link = target < 0 ? 0 : target;
        this.#fail[next] = link;

        const inherited = this.#out[link];
        if (inherited !== undefined) {
          const own = this.#out[next];
          this.#out[next] = own === undefined ? inherited : own.concat(inherited);
        }
        queue.push(next);
      }
    }

    this.#outFirst = new Int32Array(this.#states + 1);
    let outs = 0;
    for (let s = 0; s < this.#states; s++) {
      this.#outFirst[s] = outs;
      outs += this.#out[s]?.length ?? 0;
    }
    this.#outFirst[this.#states] = outs;
    this.#outIds = new Int32Array(outs);
    for (let s = 0; s < this.#states; s++) {
      const own = this.#out[s];
      if (own !== undefined) this.#outIds.set(own, this.#outFirst[s]);
    }
    this.#out = [];
    this.#lengths = Int32Array.from(this.#patterns, (p) => p.length);
    this.#built = true;
  }

  /** The child of `state` on `unit`, or -1. */
  #child(state: number, unit: number): number {
    if (state === 0) {
      const next = this.#root[unit] as number;
      return next === 0 ? -1 : next;
    }

    let lo = this.#first[state] as number;
    let hi = (this.#first[state + 1] as number) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const u = this.#units[mid] as number;
      if (u === unit) return this.#targets[mid] as number;
      if (u < unit) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** The state after reading `unit` in `state`. */
  step(state: number, unit: number): number {
    for (;;) {
      const next = this.#child(state, unit);
      if (next >= 0) return next;
      if (state === 0) return 0;
      state = this.#fail[state] as number;
    }
  }

  /**
   * Where the outputs of `state` start in the flat output list (see
   * {@link outputId}); they end where those of `state + 1` start.
   */
  outputStart(state: number): number {
    return this.#outFirst[state] as number;
  }

  /** The pattern id at position `i` of the flat output list. */
  outputId(i: number): number {
    return this.#outIds[i] as number;
  }

  /** Every `[id, start, end]` occurrence in `text` (for tests and tools). */
  findAll(text: string): [number, number, number][] {
    const found: [number, number, number][] = [];
    let state = 0;

    for (let i = 0; i < text.length; i++) {
      state = this.step(state, text.charCodeAt(i));
      for (let o = this.outputStart(state); o < this.outputStart(state + 1); o++) {
        const id = this.outputId(o);
        found.push([id, i + 1 - this.patternLength(id), i + 1]);
      }
    }
    return found;
  }
}
