import type { IntentScore } from '@kefu/core';

/** How the examples' embeddings decide an intent. */
export type ClassifierKind = 'knn' | 'centroid';

/** The trained state: one row per example (or per intent, for centroids). */
export interface VectorIndex {
  kind: ClassifierKind;
  dim: number;
  /**
   * Row-major, `rows * dim` values, each row of unit length, in shared
   * memory so that every worker thread searches it without a copy.
   */
  vectors: Float32Array;
  /** For each row, its intent's position in `intents`. */
  labels: Int32Array;
  intents: string[];
}

/** The nearest rows to one query, best first. */
export interface Neighbours {
  rows: Int32Array;
  sims: Float32Array;
}

/** A ranking plus the raw similarity of the best row, for the OOS decision. */
export interface Ranking {
  scores: IntentScore[];
  bestSimilarity: number;
}

/** Softmax temperature over centroid similarities: a 0.05 gap is a factor e. */
const CENTROID_TEMPERATURE = 0.05;

/** At most this many intents are returned by a centroid ranking. */
const MAX_CANDIDATES = 10;

function normalize(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm);

  return norm === 0 ? vector : vector.map((x) => x / norm);
}

function sharedRows(count: number, dim: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(count * dim * Float32Array.BYTES_PER_ELEMENT));
}

/**
 * Builds the index from the examples' embeddings (unit vectors, as mean
 * pooling with normalisation gives them). For `centroid`, each intent's
 * examples are averaged and the mean is normalised again.
 */
export function buildIndex(
  kind: ClassifierKind,
  embeddings: readonly Float32Array[],
  intentOf: readonly string[],
): VectorIndex {
  const dim = embeddings[0]?.length ?? 0;
  const intents = [...new Set(intentOf)];
  const position = new Map(intents.map((intent, i) => [intent, i]));

  if (kind === 'knn') {
    const vectors = sharedRows(embeddings.length, dim);
    embeddings.forEach((vector, i) => vectors.set(vector, i * dim));
    const labels = Int32Array.from(intentOf, (intent) => position.get(intent) ?? 0);

    return { kind, dim, vectors, labels, intents };
  }

  const sums = intents.map(() => new Float32Array(dim));
  embeddings.forEach((vector, i) => {
    const sum = sums[position.get(intentOf[i] ?? '') ?? 0];
    if (sum !== undefined) for (let j = 0; j < dim; j++) sum[j] = (sum[j] ?? 0) + (vector[j] ?? 0);
  });

  const vectors = sharedRows(intents.length, dim);
  sums.forEach((sum, i) => vectors.set(normalize(sum), i * dim));

  return { kind, dim, vectors, labels: Int32Array.from(intents, (_, i) => i), intents };
}

/** How many neighbours a ranking needs: `k` for knn, every centroid otherwise. */
export function neighbourCount(index: VectorIndex, k: number): number {
  return index.kind === 'knn' ? Math.min(k, index.labels.length) : index.labels.length;
}

/**
 * The `count` rows most similar to `query` (dot products of unit vectors),
 * best first. This is the costly step, `rows * dim` multiply-adds, so it
 * runs in the worker threads.
 */
export function nearest(
  vectors: Float32Array,
  dim: number,
  query: Float32Array,
  count: number,
): Neighbours {
  const total = dim === 0 ? 0 : vectors.length / dim;
  const size = Math.min(count, total);
  const rows = new Int32Array(size);
  const sims = new Float32Array(size).fill(-Infinity);
  let filled = 0;

  for (let row = 0, base = 0; row < total; row++, base += dim) {
    let sim = 0;
    for (let j = 0; j < dim; j++) sim += vectors[base + j]! * query[j]!;

    if (filled === size && sim <= sims[size - 1]!) continue;

    // Insertion into the small sorted list, best first.
    let at = filled < size ? filled++ : size - 1;
    while (at > 0 && sims[at - 1]! < sim) {
      sims[at] = sims[at - 1]!;
      rows[at] = rows[at - 1]!;
      at--;
    }
    sims[at] = sim;
    rows[at] = row;
  }

  return { rows, sims };
}

/**
 * Turns the nearest rows into a ranking. knn: each intent's score is its
 * share of the summed similarity of the neighbours (negative similarities
 * count as 0), so the scores add up to 1 and a unanimous neighbourhood
 * scores 1. centroid: a softmax over the centroids' similarities.
 */
export function rankNeighbours(index: VectorIndex, { rows, sims }: Neighbours): Ranking {
  const bestSimilarity = sims[0] ?? -1;

  if (index.kind === 'centroid') {
    const exps = Array.from(sims, (sim) => Math.exp((sim - bestSimilarity) / CENTROID_TEMPERATURE));
    const total = exps.reduce((a, b) => a + b, 0);
    const scores = Array.from(rows, (row, i) => ({
      intent: index.intents[index.labels[row] ?? 0] ?? '',
      score: (exps[i] ?? 0) / total,
    })).slice(0, MAX_CANDIDATES);

    return { scores, bestSimilarity };
  }

  const votes = new Map<number, number>();
  let total = 0;
  rows.forEach((row, i) => {
    const weight = Math.max(0, sims[i] ?? 0);
    const label = index.labels[row] ?? 0;
    votes.set(label, (votes.get(label) ?? 0) + weight);
    total += weight;
  });

  const scores = [...votes]
    .filter(([, vote]) => vote > 0 || total === 0)
    .map(([label, vote]) => ({
      intent: index.intents[label] ?? '',
      score: total > 0 ? vote / total : 1 / votes.size,
    }))
    .sort((a, b) => b.score - a.score);

  return { scores, bestSimilarity };
}

/** Ranks the index's intents for one query embedding, best first (in this thread). */
export function rank(index: VectorIndex, query: Float32Array, k: number): Ranking {
  return rankNeighbours(index, nearest(index.vectors, index.dim, query, neighbourCount(index, k)));
}
