import { makeRandom } from './softmax.js';

/**
 * Assigns each example to one of `folds` folds, stratified by label. The
 * first example of each label (in a seeded shuffle) is never held out, so
 * every label keeps at least one training example in every fold.
 *
 * @returns the fold of each example, or -1 for "always in training".
 */
export function assignFolds(ys: Int32Array, classes: number, folds: number, seed: number): Int8Array {
  const fold = new Int8Array(ys.length).fill(-1);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  ys.forEach((y, i) => byClass[y]!.push(i));

  const random = makeRandom(seed ^ 0x5bd1e995);
  for (const members of byClass) {
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [members[i], members[j]] = [members[j]!, members[i]!];
    }
    const offset = Math.floor(random() * folds);
    for (let p = 1; p < members.length; p++) fold[members[p]!] = (p + offset) % folds;
  }

  return fold;
}

function meanNll(logits: Float32Array, ys: Int32Array, classes: number, temperature: number): number {
  let total = 0;
  for (let i = 0; i < ys.length; i++) {
    const base = i * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) max = Math.max(max, logits[base + j]!);
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp((logits[base + j]! - max) / temperature);
    total += Math.log(sum) - (logits[base + ys[i]!]! - max) / temperature;
  }

  return total / Math.max(1, ys.length);
}

/**
 * Temperature scaling: the `T` that minimises the negative log-likelihood of
 * held-out labels under `softmax(logits / T)`, searched on a log scale and
 * refined by golden-section search, pausing between evaluations.
 */
export async function fitTemperature(
  logits: Float32Array,
  ys: Int32Array,
  classes: number,
  pause: () => Promise<void> = async () => {},
): Promise<number> {
  if (ys.length === 0 || classes < 2) return 1;

  let best = 1;
  let bestNll = Infinity;
  for (let e = -3; e <= 3; e += 0.25) {
    const t = Math.exp(e);
    const nll = meanNll(logits, ys, classes, t);
    if (nll < bestNll) [best, bestNll] = [t, nll];
    await pause();
  }

  const ratio = (Math.sqrt(5) - 1) / 2;
  let lo = Math.log(best) - 0.25;
  let hi = Math.log(best) + 0.25;
  for (let k = 0; k < 20; k++) {
    const a = hi - ratio * (hi - lo);
    const b = lo + ratio * (hi - lo);
    if (meanNll(logits, ys, classes, Math.exp(a)) < meanNll(logits, ys, classes, Math.exp(b))) hi = b;
    else lo = a;
    await pause();
  }

  return Math.exp((lo + hi) / 2);
}

/**
 * The confidence threshold that sends about `rejectRate` of in-scope
 * held-out examples to out-of-scope. `accept` holds, per in-scope example,
 * the calibrated probability of its best in-scope intent, or 0 when the
 * model already ranked the out-of-scope class first.
 *
 * A quantile read off one or two examples says little about new text (on
 * small sets it is just the least confident example), so unless at least
 * {@link MIN_BELOW} held-out examples fall below it, the answer is 0: the
 * caller's floor applies.
 */
export function thresholdForRejectRate(accept: Float64Array, rejectRate: number): number {
  const want = Math.floor(rejectRate * accept.length);
  if (want < MIN_BELOW) return 0;

  const sorted = Float64Array.from(accept).sort();
  const alreadyRejected = sorted.findIndex((s) => s > 0);
  if (alreadyRejected < 0 || want <= alreadyRejected) return 0;

  return sorted[Math.min(want, sorted.length - 1)]!;
}

/** Held-out examples that must fall below a calibrated threshold for it to count. */
export const MIN_BELOW = 2;
