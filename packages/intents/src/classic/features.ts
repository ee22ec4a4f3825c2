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

/** A sparse, L2-normalised feature vector; `idx` is sorted and unique. */
export interface SparseVector {
  idx: Int32Array;
  val: Float32Array;
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
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;

  return h >>> 0;
}

function combine(a: number, b: number): number {
  let h = Math.imul(a ^ (b + 0x9e3779b9 + (a << 6) + (a >>> 2)), 0xc2b2ae35);
  h ^= h >>> 15;

  return h >>> 0;
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
  private readonly mask: number;
  private word: number[] = [];
  private char: number[] = [];

  constructor(config: FeatureConfig, idf?: Float32Array) {
    this.config = config;
    this.mask = config.dim - 1;
    this.idf = idf ?? new Float32Array(config.dim).fill(1);
  }

  /** Learns IDF weights from the training texts' raw features. */
  fitIdf(raw: readonly RawFeatures[]): void {
    const df = new Float32Array(this.config.dim);
    for (const r of raw) {
      for (const i of r.word.idx) df[i]! += 1;
      for (const i of r.char.idx) df[i]! += 1;
    }

    const n = raw.length;
    for (let i = 0; i < df.length; i++) this.idf[i] = Math.log((1 + n) / (1 + df[i]!)) + 1;
  }

  /** Extracts the bucket counts of `text`, before weighting. */
  extract(text: string): RawFeatures {
    const norm = normalizeText(text);
    const tokens = tokenize(norm);
    const { charMin, charMax, hanMin, hanMax } = this.config;
    const word = this.word;
    const char = this.char;
    word.length = 0;
    char.length = 0;

    let prev = hashRange('^', 0, 1, SEED_WORD);
    for (const t of tokens) {
      const w = t.script === 'number' ? hashRange('#', 0, 1, SEED_SHAPE) : hashRange(t.stem, 0, t.stem.length, SEED_WORD);
      word.push(w);
      word.push(combine(prev, w) ^ SEED_BIGRAM);
      prev = w;

      if (t.script === 'latin') {
        const s = `<${t.text}>`;
        for (let n = charMin; n <= charMax; n++) {
          for (let i = 0; i + n <= s.length; i++) char.push(hashRange(s, i, i + n, SEED_CHAR));
        }
      }
    }
    if (tokens.length > 0) word.push(combine(prev, hashRange('$', 0, 1, SEED_WORD)) ^ SEED_BIGRAM);

    for (const m of norm.matchAll(HAN_RUN)) {
      const run = m[0];
      for (let n = hanMin; n <= hanMax; n++) {
        for (let i = 0; i + n <= run.length; i++) char.push(hashRange(run, i, i + n, SEED_HAN));
      }
    }

    return { word: this.count(word), char: this.count(char) };
  }

  /** Weights raw counts: sublinear TF times IDF, each block L2-normalised, then the whole. */
  weigh(raw: RawFeatures): SparseVector {
    const { word, char } = raw;
    const idx = new Int32Array(word.idx.length + char.idx.length);
    const val = new Float32Array(idx.length);
    const wn = this.blockNorm(word);
    const cn = this.blockNorm(char);
    const ww = wn > 0 ? this.config.wordWeight / wn : 0;
    const cw = cn > 0 ? 1 / cn : 0;

    // Merge the two sorted blocks so that equal buckets add up.
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < word.idx.length || j < char.idx.length) {
      const a = i < word.idx.length ? word.idx[i]! : Infinity;
      const b = j < char.idx.length ? char.idx[j]! : Infinity;
      if (a <= b) {
        idx[k] = a;
        val[k] = (1 + Math.log(word.tf[i]!)) * this.idf[a]! * ww;
        i++;
        if (a === b) {
          val[k]! += (1 + Math.log(char.tf[j]!)) * this.idf[b]! * cw;
          j++;
        }
      } else {
        idx[k] = b;
        val[k] = (1 + Math.log(char.tf[j]!)) * this.idf[b]! * cw;
        j++;
      }
      k++;
    }

    let norm = 0;
    for (let m = 0; m < k; m++) norm += val[m]! * val[m]!;
    norm = Math.sqrt(norm);
    if (norm > 0) for (let m = 0; m < k; m++) val[m]! /= norm;

    return { idx: idx.slice(0, k), val: val.slice(0, k) };
  }

  /** {@link extract} then {@link weigh}. */
  vectorize(text: string): SparseVector {
    return this.weigh(this.extract(text));
  }

  private blockNorm(block: SparseCounts): number {
    let s = 0;
    for (let i = 0; i < block.idx.length; i++) {
      const v = (1 + Math.log(block.tf[i]!)) * this.idf[block.idx[i]!]!;
      s += v * v;
    }

    return Math.sqrt(s);
  }

  private count(hashes: number[]): SparseCounts {
    const buckets = new Int32Array(hashes.length);
    for (let i = 0; i < hashes.length; i++) buckets[i] = hashes[i]! & this.mask;
    buckets.sort();

    const idx = new Int32Array(buckets.length);
    const tf = new Float32Array(buckets.length);
    let k = -1;
    for (let i = 0; i < buckets.length; i++) {
      if (k >= 0 && idx[k] === buckets[i]) tf[k]! += 1;
      else {
        k++;
        idx[k] = buckets[i]!;
        tf[k] = 1;
      }
    }

    return { idx: idx.slice(0, k + 1), tf: tf.slice(0, k + 1) };
  }
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
