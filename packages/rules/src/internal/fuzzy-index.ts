import { createRequire } from 'node:module';

// natural is CommonJS; only its distance module is loaded (see core's text.ts).
const require = createRequire(import.meta.url);
const distance = require('natural/lib/natural/distance/levenshtein_distance.js') as {
  DamerauLevenshteinDistance(a: string, b: string, options?: { restricted?: boolean }): number;
};

// Three rows of the distance table, reused; grown for long words.
let rows = [new Int32Array(64), new Int32Array(64), new Int32Array(64)];

/**
 * Whether the optimal-string-alignment distance (Damerau-Levenshtein where a
 * transposed pair is not edited again, natural's `restricted` variant) of
 * `a` and `b` is at most `max`. Stops as soon as a whole row exceeds `max`,
 * so a far candidate costs a row or two instead of natural's full table.
 */
export function isWithin(a: string, b: string, max: number): boolean {
  const m = b.length;
  if (Math.abs(a.length - m) > max) return false;
  if ((rows[0] as Int32Array).length <= m) rows = [0, 1, 2].map(() => new Int32Array(m * 2 + 2));

  let [before, prev, cur] = rows as [Int32Array, Int32Array, Int32Array];
  for (let j = 0; j <= m; j++) prev[j] = j;

  for (let i = 1; i <= a.length; i++) {
    const ca = a.charCodeAt(i - 1);
    cur[0] = i;
    let rowMin = i;

    for (let j = 1; j <= m; j++) {
      const cb = b.charCodeAt(j - 1);
      let v = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (ca === cb ? 0 : 1),
      );
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb) {
        v = Math.min(v, (before[j - 2] as number) + 1);
      }
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return false;
    [before, prev, cur] = [prev, cur, before];
  }
  return (prev[m] as number) <= max;
}

/** A fuzzy term found close to a word. */
export interface FuzzyHit {
  term: number;
  distance: number;
}

/** Edits a term tolerates: one up to 7 characters, two from 8 on. */
export function maxEdits(length: number): number {
  return length >= 8 ? 2 : 1;
}

function addDeletes(word: string, depth: number, into: Set<string>): void {
  if (depth === 0 || word.length <= 1) return;

  for (let i = 0; i < word.length; i++) {
    const shorter = word.slice(0, i) + word.slice(i + 1);
    if (into.has(shorter)) continue;
    into.add(shorter);
    addDeletes(shorter, depth - 1, into);
  }
}

const CACHE_MAX = 50_000;
const NO_HITS: readonly FuzzyHit[] = [];

// Only the first PREFIX characters are indexed (SymSpell's prefix trick): an
// edit past them is still caught when the full distance is checked, and long
// words make far fewer deletion strings.
const PREFIX = 7;

/**
 * A lower bound of the Damerau-Levenshtein distance: characters one string
 * has more of than the other. An edit removes at most one such excess from
 * each side (a transposition none), so the distance is at least the larger
 * excess. It rejects most candidates before the real distance is computed.
 */
function excess(a: string, b: string, counts: Int32Array): number {
  counts.fill(0);
  for (let i = 0; i < a.length; i++) {
    const k = a.charCodeAt(i) & 127;
    counts[k] = (counts[k] as number) + 1;
  }
  for (let i = 0; i < b.length; i++) {
    const k = b.charCodeAt(i) & 127;
    counts[k] = (counts[k] as number) - 1;
  }

  let more = 0;
  let fewer = 0;
  for (let i = 0; i < 128; i++) {
    const c = counts[i] as number;
    if (c > 0) more += c;
    else fewer -= c;
  }
  return Math.max(more, fewer);
}

/**
 * Typo-tolerant lookup of terms by their deletion neighbourhoods (the idea
 * behind SymSpell): each term is indexed under every string made by deleting
 * up to its edit budget of characters from its first seven, and a word looks
 * up its own deletions. Two strings within k edits share a string reachable
 * by at most k deletions from each, so only real candidates are ever
 * compared, whatever the number of terms; each is then checked with
 * cheap bounds, and the survivors with natural's Damerau-Levenshtein
 * distance (its restricted, optimal-string-alignment variant).
 */
export class FuzzyIndex {
  readonly #deletes = new Map<string, number[]>();
  readonly #terms: string[] = [];
  readonly #budgets: number[] = [];
  readonly #cache = new Map<string, readonly FuzzyHit[]>();
  readonly #counts = new Int32Array(128);
  #seen = new Uint32Array(16);
  #gen = 0;
  #deepest = 0;

  get size(): number {
    return this.#terms.length;
  }

  /** Adds a term with its edit budget; returns its id. */
  add(term: string, budget: number): number {
    const id = this.#terms.length;
    this.#terms.push(term);
    this.#budgets.push(budget);
    this.#deepest = Math.max(this.#deepest, budget);

    const head = term.slice(0, PREFIX);
    const keys = new Set<string>([head]);
    addDeletes(head, budget, keys);
    for (const key of keys) {
      const list = this.#deletes.get(key);
      if (list === undefined) this.#deletes.set(key, [id]);
      else list.push(id);
    }
    return id;
  }

  term(id: number): string {
    return this.#terms[id] as string;
  }

  /** Terms within their edit budget of `word`, closest first. */
  lookup(word: string): readonly FuzzyHit[] {
    const cached = this.#cache.get(word);
    if (cached !== undefined) return cached;

    const hits = this.#search(word);
    if (this.#cache.size >= CACHE_MAX) {
      // Drop the oldest quarter: Maps iterate in insertion order.
      let drop = CACHE_MAX / 4;
      for (const key of this.#cache.keys()) {
        this.#cache.delete(key);
        if (--drop === 0) break;
      }
    }
    this.#cache.set(word, hits);

    return hits;
  }

  #search(word: string): readonly FuzzyHit[] {
    if (this.#seen.length < this.#terms.length)
      this.#seen = new Uint32Array(this.#terms.length * 2);
    this.#gen = (this.#gen + 1) >>> 0;
    if (this.#gen === 0) {
      this.#seen.fill(0);
      this.#gen = 1;
    }

    // A word needs as many deletions as the largest budget a term of a
    // length near its own could have.
    const depth = Math.min(this.#deepest, word.length + 2 >= 8 ? 2 : 1);
    const head = word.slice(0, PREFIX);
    const keys = new Set<string>([head]);
    addDeletes(head, depth, keys);

    let hits: FuzzyHit[] | undefined;
    for (const key of keys) {
      const ids = this.#deletes.get(key);
      if (ids === undefined) continue;

      for (const id of ids) {
        if (this.#seen[id] === this.#gen) continue;
        this.#seen[id] = this.#gen;

        const term = this.#terms[id] as string;
        const budget = this.#budgets[id] as number;
        if (Math.abs(term.length - word.length) > budget) continue;
        if (excess(word, term, this.#counts) > budget) continue;
        if (!isWithin(word, term, budget)) continue;

        // natural gives the distance of the few candidates left.
        const d = distance.DamerauLevenshteinDistance(word, term, { restricted: true });
        if (d <= budget) (hits ??= []).push({ term: id, distance: d });
      }
    }
    if (hits === undefined) return NO_HITS;

    return hits.sort((a, b) => a.distance - b.distance || a.term - b.term);
  }
}
