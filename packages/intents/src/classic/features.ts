import { normalizeText, tokenize } from '@kefu/core';

/** How text becomes features; saved with the model so loading reproduces it. */
export interface FeatureConfig {
  /** Number of hash buckets (a power of two). */
  dim: number;
  /** Shortest and longest character n-gram inside an English word. */
  charMin: number;
  charMax: number;
  /** Shortest and longest character n-gram over a run of Han characters. */
  hanMin: number;
  hanMax: number;
  /** Weight of the word block against the character block before the final L2 norm. */
  wordWeight: number;
}

/** A sparse, L2-normalised feature vector; each bucket appears once. */
export interface SparseVector {
  idx: Int32Array;
  val: Float32Array;
  /**
   * The share of the vector's squared norm on buckets seen in training, in
   * [0, 1]: near 0 for text made of words the model never saw.
   */
  known: number;
}

const HAN_RUN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+/g;

// Seeds keep the feature kinds apart in the shared bucket space, so the word
// "ok" and the character n-gram "ok" do not add to each other on purpose.
const SEED_WORD = 0x811c9dc5;
const SEED_BIGRAM = 0x050c5d1f;
const SEED_CHAR = 0x2f6a8b13;
const SEED_HAN = 0x6b43a9b5;
const SEED_SHAPE = 0x1b873593;

/** FNV-1a over `s[start, end)`, followed by a final avalanche step. */
function hashRange(s: string, start: number, end: number, seed: number): number {
  let h = seed;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);

  return finish(h);
}

function combine(a: number, b: number): number {
  let h = Math.imul(a ^ (b + 0x9e3779b9 + (a << 6) + (a >>> 2)), 0xc2b2ae35);
  h ^= h >>> 15;

  return h >>> 0;
}

/** Hash-bucket counts of one text, kept in dense scratch arrays while it is processed. */
class Block {
  tf: Float32Array;
  list = new Int32Array(64);
  n = 0;

  constructor(dim: number) {
    this.tf = new Float32Array(dim);
  }

  add(bucket: number): void {
    if (this.tf[bucket] === 0) {
      if (this.n === this.list.length) {
        const grown = new Int32Array(this.n * 2);
        grown.set(this.list);
        this.list = grown;
      }
      this.list[this.n++] = bucket;
    }
    this.tf[bucket]! += 1;
  }

  load(counts: SparseCounts): void {
    for (let i = 0; i < counts.idx.length; i++) {
      for (let t = 0; t < counts.tf[i]!; t++) this.add(counts.idx[i]!);
    }
  }

  snapshot(): SparseCounts {
    const idx = this.list.slice(0, this.n);
    const tf = new Float32Array(this.n);
    for (let i = 0; i < this.n; i++) tf[i] = this.tf[idx[i]!]!;

    return { idx, tf };
  }

  clear(): void {
    for (let i = 0; i < this.n; i++) this.tf[this.list[i]!] = 0;
    this.n = 0;
  }
}

/**
 * Turns texts into hashed, TF-IDF weighted sparse vectors: word unigrams and
 * bigrams on stems, character n-grams within English words (with boundary
 * marks) and over Han runs.
 */
export class Featurizer {
  readonly config: FeatureConfig;
  /** Inverse document frequency per bucket; 1 until {@link fitIdf} runs. */
  idf: Float32Array;
  /** The IDF of a bucket no training text had; buckets with another IDF were seen. */
  unseenIdf: number;
  private readonly mask: number;
  private readonly word: Block;
  private readonly char: Block;
  private readonly acc: Float64Array;
  private touched = new Int32Array(128);

  constructor(config: FeatureConfig, idf?: Float32Array, unseenIdf = Number.NaN) {
    this.config = config;
    this.mask = config.dim - 1;
    this.idf = idf ?? new Float32Array(config.dim).fill(1);
    this.unseenIdf = unseenIdf;
    this.word = new Block(config.dim);
    this.char = new Block(config.dim);
    this.acc = new Float64Array(config.dim);
  }

  /** Learns IDF weights from the training texts' raw features. */
  fitIdf(raw: readonly RawFeatures[]): void {
    const df = new Float32Array(this.config.dim);
    const seen = new Uint8Array(this.config.dim);
    for (const r of raw) {
      // A bucket in both blocks of one text counts once.
      for (const i of r.word.idx) seen[i] = 1;
      for (const i of r.char.idx) seen[i] = 1;
      for (const i of r.word.idx) if (seen[i] === 1) (df[i]! += 1), (seen[i] = 0);
      for (const i of r.char.idx) if (seen[i] === 1) (df[i]! += 1), (seen[i] = 0);
    }

    const n = raw.length;
    for (let i = 0; i < df.length; i++) this.idf[i] = Math.log((1 + n) / (1 + df[i]!)) + 1;
    this.unseenIdf = Math.fround(Math.log(1 + n) + 1);
  }

  /** Extracts the bucket counts of `text`, before weighting. */
  extract(text: string): RawFeatures {
    this.collect(text);
    const raw = { word: this.word.snapshot(), char: this.char.snapshot() };
    this.word.clear();
    this.char.clear();

    return raw;
  }

  /** Weights raw counts: sublinear TF times IDF, each block L2-normalised, then the whole. */
  weigh(raw: RawFeatures): SparseVector {
    this.word.load(raw.word);
    this.char.load(raw.char);

    return this.weighScratch();
  }

  /** {@link extract} then {@link weigh}, without the intermediate arrays. */
  vectorize(text: string): SparseVector {
    this.collect(text);

    return this.weighScratch();
  }

  private collect(text: string): void {
    const norm = normalizeText(text);
    const tokens = tokenize(norm);
    const { charMin, charMax, hanMin, hanMax } = this.config;
    const { word, char, mask } = this;

    let prev = hashRange('^', 0, 1, SEED_WORD);
    for (const t of tokens) {
      const w = t.script === 'number' ? NUMBER_HASH : hashRange(t.stem, 0, t.stem.length, SEED_WORD);
      word.add(w & mask);
      word.add((combine(prev, w) ^ SEED_BIGRAM) & mask);
      prev = w;

      if (t.script === 'latin') addCharNgrams(char, mask, t.text, charMin, charMax);
    }
    if (tokens.length > 0) word.add((combine(prev, END_HASH) ^ SEED_BIGRAM) & mask);

    for (const m of norm.matchAll(HAN_RUN)) {
      const run = m[0];
      for (let i = 0; i < run.length; i++) {
        let h = SEED_HAN;
        for (let n = 1; n <= hanMax && i + n <= run.length; n++) {
          h = Math.imul(h ^ run.charCodeAt(i + n - 1), FNV_PRIME);
          if (n >= hanMin) char.add(finish(h) & mask);
        }
      }
    }
  }

  private weighScratch(): SparseVector {
    const { word, char, acc, idf } = this;
    const wn = blockNorm(word, idf);
    const cn = blockNorm(char, idf);
    const ww = wn > 0 ? this.config.wordWeight / wn : 0;
    const cw = cn > 0 ? 1 / cn : 0;

    if (this.touched.length < word.n + char.n) this.touched = new Int32Array((word.n + char.n) * 2);
    const touched = this.touched;
    let k = addWeighted(word, ww, idf, acc, touched, 0);
    k = addWeighted(char, cw, idf, acc, touched, k);

    let norm = 0;
    for (let i = 0; i < k; i++) norm += acc[touched[i]!]! ** 2;
    norm = norm > 0 ? 1 / Math.sqrt(norm) : 0;

    const idx = touched.slice(0, k);
    const val = new Float32Array(k);
    let known = 0;
    for (let i = 0; i < k; i++) {
      const b = idx[i]!;
      val[i] = acc[b]! * norm;
      acc[b] = 0;
      if (idf[b] !== this.unseenIdf) known += val[i]! * val[i]!;
    }
    word.clear();
    char.clear();

    return { idx, val, known: Math.min(1, known) };
  }
}

const FNV_PRIME = 0x01000193;
const NUMBER_HASH = hashRange('#', 0, 1, SEED_SHAPE);
const END_HASH = hashRange('$', 0, 1, SEED_WORD);

function finish(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;

  return x >>> 0;
}

/**
 * Adds the n-grams of `<word>` (with boundary marks), hashed incrementally:
 * the FNV state after n characters is the prefix of the state after n + 1.
 */
function addCharNgrams(block: Block, mask: number, word: string, min: number, max: number): void {
  const len = word.length + 2;
  for (let i = 0; i < len; i++) {
    let h = SEED_CHAR;
    for (let n = 1; n <= max && i + n <= len; n++) {
      const at = i + n - 1;
      h = Math.imul(h ^ (at === 0 ? 60 : at === len - 1 ? 62 : word.charCodeAt(at - 1)), FNV_PRIME);
      if (n >= min) block.add(finish(h) & mask);
    }
  }
}

/** Sublinear term frequency, `1 + ln(tf)`, looked up for small counts. */
const SUBLINEAR = Float64Array.from({ length: 64 }, (_, tf) => (tf === 0 ? 0 : 1 + Math.log(tf)));

function sublinear(tf: number): number {
  return tf < 64 ? SUBLINEAR[tf]! : 1 + Math.log(tf);
}

/** Adds a block's weighted values into `acc`, listing new buckets in `touched` from `k` on. */
function addWeighted(block: Block, scale: number, idf: Float32Array, acc: Float64Array, touched: Int32Array, k: number): number {
  for (let i = 0; i < block.n; i++) {
    const b = block.list[i]!;
    if (acc[b] === 0) touched[k++] = b;
    acc[b]! += sublinear(block.tf[b]!) * idf[b]! * scale;
  }

  return k;
}

function blockNorm(block: Block, idf: Float32Array): number {
  let s = 0;
  for (let i = 0; i < block.n; i++) {
    const b = block.list[i]!;
    const v = sublinear(block.tf[b]!) * idf[b]!;
    s += v * v;
  }

  return Math.sqrt(s);
}

/** Bucket counts of one block of features. */
export interface SparseCounts {
  idx: Int32Array;
  tf: Float32Array;
}

/** The word and character blocks of one text. */
export interface RawFeatures {
  word: SparseCounts;
  char: SparseCounts;
}
