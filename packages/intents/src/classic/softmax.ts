import type { SparseVector } from './features.js';

/** A multinomial logistic regression over hashed sparse features. */
export interface LinearModel {
  dim: number;
  classes: number;
  /** Row-major `[feature][class]`, so a feature's weights sit together. */
  weights: Float32Array;
  bias: Float32Array;
}

/** Hyper-parameters of {@link trainSoftmax}. */
export interface TrainParams {
  epochs: number;
  learningRate: number;
  /** L2 penalty, applied to the rows each example touches. */
  l2: number;
  seed: number;
  /** Called between chunks of work so a caller can yield to the event loop. */
  pause?: () => Promise<void>;
  /** Share of an example's features dropped at each visit. */
  dropout?: number;
  /** Returns the mean of the iterates instead of the last one. */
  average?: boolean;
  /** Class gradients smaller than this are skipped. */
  minGrad?: number;
  /** Milliseconds of work between pauses. */
  sliceMs?: number;
}

/** A small deterministic PRNG (mulberry32), so training is reproducible. */
export function makeRandom(seed: number): () => number {
  let a = seed >>> 0;

  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);

    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Adds `sum of v[k] * row k` to `out`, where row k starts at `idx[k] * c` in
 * `w`. Four rows go through the class loop together: each pass then loads
 * and stores `out` a quarter as often, which roughly halves the time.
 */
function accumulate(w: Float32Array, c: number, idx: Int32Array, val: Float32Array, n: number, out: Float32Array): void {
  let k = 0;
  for (; k + 3 < n; k += 4) {
    const v0 = val[k]!;
    const v1 = val[k + 1]!;
    const v2 = val[k + 2]!;
    const v3 = val[k + 3]!;
    const b0 = idx[k]! * c;
    const b1 = idx[k + 1]! * c;
    const b2 = idx[k + 2]! * c;
    const b3 = idx[k + 3]! * c;
    for (let j = 0; j < c; j++) {
      out[j]! += v0 * w[b0 + j]! + v1 * w[b1 + j]! + v2 * w[b2 + j]! + v3 * w[b3 + j]!;
    }
  }
  for (; k < n; k++) {
    const v = val[k]!;
    const b = idx[k]! * c;
    for (let j = 0; j < c; j++) out[j]! += v * w[b + j]!;
  }
}

/** Writes the raw class scores of `x` into `out`. */
export function logits(model: LinearModel, x: SparseVector, out: Float32Array): void {
  out.set(model.bias);
  accumulate(model.weights, model.classes, x.idx, x.val, x.idx.length, out);
}

/**
 * {@link accumulate} for 8-bit weights, eight rows at a time. A separate
 * function keeps both call sites monomorphic, which V8 compiles to much
 * faster element access than a function fed two array types.
 */
function accumulateQuantized(w: Int8Array, c: number, idx: Int32Array, val: Float64Array, n: number, out: Float32Array): void {
  let k = 0;
  for (; k + 7 < n; k += 8) {
    const v0 = val[k]!;
    const v1 = val[k + 1]!;
    const v2 = val[k + 2]!;
    const v3 = val[k + 3]!;
    const v4 = val[k + 4]!;
    const v5 = val[k + 5]!;
    const v6 = val[k + 6]!;
    const v7 = val[k + 7]!;
    const b0 = idx[k]! * c;
    const b1 = idx[k + 1]! * c;
    const b2 = idx[k + 2]! * c;
    const b3 = idx[k + 3]! * c;
    const b4 = idx[k + 4]! * c;
    const b5 = idx[k + 5]! * c;
    const b6 = idx[k + 6]! * c;
    const b7 = idx[k + 7]! * c;
    for (let j = 0; j < c; j++) {
      out[j]! +=
        v0 * w[b0 + j]! +
        v1 * w[b1 + j]! +
        v2 * w[b2 + j]! +
        v3 * w[b3 + j]! +
        v4 * w[b4 + j]! +
        v5 * w[b5 + j]! +
        v6 * w[b6 + j]! +
        v7 * w[b7 + j]!;
    }
  }
  for (; k < n; k++) {
    const v = val[k]!;
    const b = idx[k]! * c;
    for (let j = 0; j < c; j++) out[j]! += v * w[b + j]!;
  }
}

let scaled = new Float64Array(256);

/**
 * Writes the class scores of `x` into `out` from 8-bit weights with one
 * scale per feature row. Reading a quarter of the bytes keeps more of the
 * weight matrix in cache.
 */
export function logitsQuantized(
  quantized: Int8Array,
  scales: Float32Array,
  bias: Float32Array,
  x: SparseVector,
  out: Float32Array,
): void {
  const n = x.idx.length;
  if (scaled.length < n) scaled = new Float64Array(n * 2);
  for (let k = 0; k < n; k++) scaled[k] = x.val[k]! * scales[x.idx[k]!]!;
  out.set(bias);
  accumulateQuantized(quantized, bias.length, x.idx, scaled, n, out);
}

/** Softmax of `z / temperature` in place. */
export function softmax(z: Float32Array, temperature = 1): void {
  let max = -Infinity;
  for (let j = 0; j < z.length; j++) if (z[j]! > max) max = z[j]!;

  let sum = 0;
  for (let j = 0; j < z.length; j++) {
    const e = Math.exp((z[j]! - max) / temperature);
    z[j] = e;
    sum += e;
  }
  for (let j = 0; j < z.length; j++) z[j]! /= sum;
}

/**
 * Trains softmax regression with per-example AdaGrad updates. Only the rows
 * of the features an example has are touched, so an update costs
 * `nnz × classes`, not `dim × classes`.
 */
export async function trainSoftmax(
  xs: readonly SparseVector[],
  ys: Int32Array,
  dim: number,
  classes: number,
  params: TrainParams,
): Promise<LinearModel> {
  const model: LinearModel = {
    dim,
    classes,
    weights: new Float32Array(dim * classes),
    bias: new Float32Array(classes),
  };
  const { weights: w, bias: b } = model;
  const gw = new Float32Array(dim * classes);
  const gb = new Float32Array(classes);
  const z = new Float32Array(classes);
  const random = makeRandom(params.seed);
  const order = Int32Array.from(xs.keys());
  const { learningRate: lr, l2 } = params;
  const eps = 1e-6;
  const minGrad = params.minGrad ?? 1e-3;
  const act = new Int32Array(classes);
  // Averaged weights (Polyak): the mean of the iterates, kept with the
  // usual trick of a second accumulator weighted by the step number.
  const uw = params.average === true ? new Float32Array(dim * classes) : undefined;
  const ub = params.average === true ? new Float32Array(classes) : undefined;
  let step = 0;
  // Feature dropout: each example loses a random part of its features at
  // every visit, which keeps the model from leaning on a few n-grams.
  const dropout = params.dropout ?? 0;
  const keep = 1 / (1 - dropout);
  let maxNnz = 0;
  for (const x of xs) maxNnz = Math.max(maxNnz, x.idx.length);
  const dIdx = new Int32Array(maxNnz);
  const dVal = new Float32Array(maxNnz);
  const sliceMs = params.sliceMs ?? 20;
  let sliceStart = performance.now();

  for (let epoch = 0; epoch < params.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }

    for (let n = 0; n < order.length; n++) {
      const e = order[n]!;
      const x = xs[e]!;
      let nnz = 0;
      if (dropout > 0) {
        for (let i = 0; i < x.idx.length; i++) {
          if (random() < dropout) continue;
          dIdx[nnz] = x.idx[i]!;
          dVal[nnz] = x.val[i]! * keep;
          nnz++;
        }
      } else {
        dIdx.set(x.idx);
        dVal.set(x.val);
        nnz = x.idx.length;
      }
      step++;
      z.set(b);
      accumulate(w, classes, dIdx, dVal, nnz, z);
      softmax(z);
      z[ys[e]!]! -= 1;

      // Most classes get a near-zero gradient once the model is past its
      // first epoch; skipping them makes an update several times cheaper.
      let active = 0;
      for (let j = 0; j < classes; j++) {
        if (z[j]! > minGrad || z[j]! < -minGrad) act[active++] = j;
      }
      for (let a = 0; a < active; a++) {
        const j = act[a]!;
        const g = z[j]!;
        gb[j]! += g * g;
        const d = (lr * g) / (Math.sqrt(gb[j]!) + eps);
        b[j]! -= d;
        if (ub !== undefined) ub[j]! -= step * d;
      }
      for (let k = 0; k < nnz; k++) {
        const v = dVal[k]!;
        const base = dIdx[k]! * classes;
        for (let a = 0; a < active; a++) {
          const j = act[a]!;
          const p = base + j;
          const g = v * z[j]! + l2 * w[p]!;
          const acc = gw[p]! + g * g;
          gw[p] = acc;
          const d = (lr * g) / (Math.sqrt(acc) + eps);
          w[p]! -= d;
          if (uw !== undefined) uw[p]! -= step * d;
        }
      }

      if (params.pause !== undefined && (n & 127) === 0 && performance.now() - sliceStart > sliceMs) {
        await params.pause();
        sliceStart = performance.now();
      }
    }
  }

  if (uw !== undefined && ub !== undefined) {
    for (let p = 0; p < w.length; p++) w[p]! -= uw[p]! / step;
    for (let j = 0; j < classes; j++) b[j]! -= ub[j]! / step;
  }

  return model;
}

