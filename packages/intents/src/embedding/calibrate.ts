import type { TrainingExample } from '@kefu/core';

/** How many training examples `threshold: 'auto'` looks at, at most. */
const AUTO_SAMPLE = 500;

/**
 * `threshold: 'auto'` puts the threshold at this quantile of the training
 * examples' similarity to their nearest other example: about one in-scope
 * text in twenty that is as far from the training data as the farthest 5%
 * of the examples would be sent to `oos`.
 */
const AUTO_QUANTILE = 0.05;

/**
 * For each sampled row, its similarity to its own intent's centroid computed
 * without it (leave one out), so that small intents do not look closer than
 * they are. With `S` the sum of the intent's unit vectors and `x` the row:
 * `cos(x, S - x) = (S·x - 1) / |S - x|`. Intents of one example are skipped.
 */
export function leaveOneOutCentroid(
  vectors: readonly Float32Array[],
  examples: readonly TrainingExample[],
  sample: readonly number[],
): number[] {
  const dim = vectors[0]?.length ?? 0;
  const sums = new Map<string, { sum: Float32Array; count: number }>();
  vectors.forEach((vector, row) => {
    const intent = examples[row]?.intent ?? '';
    const entry = sums.get(intent) ?? { sum: new Float32Array(dim), count: 0 };
    for (let j = 0; j < dim; j++) entry.sum[j] = entry.sum[j]! + vector[j]!;
    entry.count++;
    sums.set(intent, entry);
  });

  return sample.flatMap((row) => {
    const entry = sums.get(examples[row]?.intent ?? '');
    const x = vectors[row];
    if (entry === undefined || entry.count < 2 || x === undefined) return [];

    let dot = 0;
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      dot += entry.sum[j]! * x[j]!;
      norm += entry.sum[j]! * entry.sum[j]!;
    }
    const rest = Math.sqrt(Math.max(norm - 2 * dot + 1, 1e-12));

    return [(dot - 1) / rest];
  });
}

/** Up to `AUTO_SAMPLE` rows spread evenly over the in-scope examples. */
export function calibrationSample(examples: readonly TrainingExample[]): number[] {
  const candidates = examples.flatMap((e, row) => (e.intent === 'oos' ? [] : [row]));
  const step = Math.max(1, candidates.length / AUTO_SAMPLE);
  const sample: number[] = [];
  for (let at = 0; at < candidates.length && sample.length < AUTO_SAMPLE; at += step) {
    sample.push(candidates[Math.floor(at)] ?? 0);
  }

  return sample;
}

/** The `AUTO_QUANTILE` quantile of `similarities`; undefined when there are none. */
export function lowQuantile(similarities: readonly number[]): number | undefined {
  const sorted = [...similarities].sort((a, b) => a - b);

  return sorted[Math.floor(sorted.length * AUTO_QUANTILE)];
}
