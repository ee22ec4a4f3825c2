import type { IntentScore } from '@kefu/core';

/** How the examples' embeddings decide an intent. */
export type ClassifierKind = 'knn' | 'centroid';

/** The trained state: one row per example (or per intent, for centroids). */
export interface VectorIndex {
  kind: ClassifierKind;
  dim: number;
  /** Row-major, `rows * dim` values, each row of unit length. */
  vectors: Float32Array;
  /** For each row, its intent's position in `intents`. */
  labels: Int32Array;
  intents: string[];
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

function dot(a: Float32Array, offset: number, b: Float32Array, dim: number): number {
  let sum = 0;
  for (let j = 0; j < dim; j++) sum += (a[offset + j] ?? 0) * (b[j] ?? 0);

  return sum;
}

function normalize(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm);

  return norm === 0 ? vector : vector.map((x) => x / norm);
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
    const vectors = new Float32Array(embeddings.length * dim);
    embeddings.forEach((vector, i) => vectors.set(vector, i * dim));
    const labels = Int32Array.from(intentOf, (intent) => position.get(intent) ?? 0);

    return { kind, dim, vectors, labels, intents };
  }

  const sums = intents.map(() => new Float32Array(dim));
  embeddings.forEach((vector, i) => {
    const sum = sums[position.get(intentOf[i] ?? '') ?? 0];
    if (sum !== undefined) for (let j = 0; j < dim; j++) sum[j] = (sum[j] ?? 0) + (vector[j] ?? 0);
  });

  const vectors = new Float32Array(intents.length * dim);
  sums.forEach((sum, i) => vectors.set(normalize(sum), i * dim));

  return { kind, dim, vectors, labels: Int32Array.from(intents, (_, i) => i), intents };
}

/**
 * k nearest neighbours: each intent's score is its share of the summed
 * similarity of the `k` nearest examples (negative similarities count as 0),
 * so the scores add up to 1 and a unanimous neighbourhood scores 1.
 */
function rankKnn(index: VectorIndex, query: Float32Array, k: number): Ranking {
  const { dim, vectors, labels } = index;
  const rows = labels.length;
  const topSims: number[] = [];
  const topRows: number[] = [];

  for (let row = 0; row < rows; row++) {
    const sim = dot(vectors, row * dim, query, dim);
    if (topSims.length === k && sim <= (topSims[k - 1] ?? -Infinity)) continue;

    // Insertion into the small sorted top-k list, best first.
    let at = Math.min(topSims.length, k - 1);
    while (at > 0 && (topSims[at - 1] ?? -Infinity) < sim) at--;
    topSims.splice(at, 0, sim);
    topRows.splice(at, 0, row);
    if (topSims.length > k) {
      topSims.pop();
      topRows.pop();
    }
  }

  const votes = new Map<number, number>();
  let total = 0;
  topRows.forEach((row, i) => {
    const weight = Math.max(0, topSims[i] ?? 0);
    const label = labels[row] ?? 0;
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

  return { scores, bestSimilarity: topSims[0] ?? -1 };
}

/** Centroids: a softmax over the similarities to each intent's mean. */
function rankCentroid(index: VectorIndex, query: Float32Array): Ranking {
  const { dim, vectors, intents } = index;
  const sims = intents.map((_, i) => dot(vectors, i * dim, query, dim));
  const best = Math.max(...sims);
  const exps = sims.map((sim) => Math.exp((sim - best) / CENTROID_TEMPERATURE));
  const total = exps.reduce((a, b) => a + b, 0);

  const scores = intents
    .map((intent, i) => ({ intent, score: (exps[i] ?? 0) / total }))
    .sort((a, b) => b.score - a.score)
    .slice(0, MAX_CANDIDATES);

  return { scores, bestSimilarity: best };
}

/** Ranks the index's intents for one query embedding, best first. */
export function rank(index: VectorIndex, query: Float32Array, k: number): Ranking {
  return index.kind === 'knn' ? rankKnn(index, query, k) : rankCentroid(index, query);
}
