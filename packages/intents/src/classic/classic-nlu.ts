import { createHash } from 'node:crypto';
import { join } from 'node:path';

import {
  KefuError,
  isKefuError,
  silentLogger,
  type IntentScore,
  type Logger,
  type NluProvider,
  type SessionView,
  type TrainingExample,
} from '@kefu/core';

import { assignFolds, fitTemperature, thresholdForRejectRate } from './calibrate.js';
import { nameExamples } from './names.js';
import { Featurizer, type FeatureConfig, type SparseVector } from './features.js';
import { quantize, readModelFile, writeModelFile, type ClassicModel } from './model-file.js';
import { parseClassicOptions, type ClassicNluOptions, type ResolvedClassicOptions } from './options.js';
import { logits, logitsQuantized, softmax, trainSoftmax, type LinearModel, type TrainParams } from './softmax.js';

/** Data sets up to this size are calibrated by 5-fold cross-validation; bigger ones on one fold. */
const FULL_CROSS_VALIDATION_MAX = 2000;
const FOLDS = 5;
/** The share of `epochs` the calibration model of a big set trains for. */
const CALIBRATION_EPOCHS = 0.5;
// The lowest threshold allowed, whatever the held-out examples say: text
// with (almost) nothing the model has seen scores below it, through the
// familiarity factor below.
const MIN_THRESHOLD = 0.05;
const FAMILIAR_KNOWN = 0.2;
/**
 * With `ensemble: 'auto'`, the averaged models together train on about this
 * many examples (each example counted once per model), between
 * {@link MIN_AUTO_ENSEMBLE} and {@link MAX_AUTO_ENSEMBLE} models: a set of
 * 1,000 examples gets 10, one of 2,500 gets 4, one of 5,000 or more 2.
 */
const ENSEMBLE_BUDGET = 10_000;
const MAX_AUTO_ENSEMBLE = 10;
// Two models of `epochs` passes each moved fewer answers from seed to seed
// than one model trained for half again as long, for about 1.2 times its
// training time (CLINC150).
const MIN_AUTO_ENSEMBLE = 2;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A check to call inside long loops: it yields to the event loop once the
 * current slice of work has run `sliceMs`, so that no step of training holds
 * the thread for long.
 */
function slicer(sliceMs = 20): () => Promise<void> | undefined {
  let start = performance.now();

  return () => {
    if (performance.now() - start < sliceMs) return undefined;

    return yieldToLoop().then(() => {
      start = performance.now();
    });
  };
}

interface Served {
  model: ClassicModel;
  featurizer: Featurizer;
}

/** What the last `train()` did, for logs and the eval tool. */
export interface ClassicTrainInfo {
  /** Whether the model came from `modelCacheDir` instead of being trained. */
  fromCache: boolean;
  examples: number;
  intents: number;
  durationMs: number;
  temperature: number;
  threshold: number;
}

/**
 * The default NLU: TF-IDF weighted word and character n-grams hashed into a
 * fixed space, and a softmax regression trained in-process, with calibrated
 * confidences and an out-of-scope threshold learned from held-out folds of
 * the training data. Pure TypeScript; no model download.
 *
 * Training yields to the event loop every few milliseconds (it does not use
 * a worker thread), so timers such as the engine's breaker keep firing while
 * a big data set trains; classification is synchronous and takes tens of
 * microseconds.
 *
 * @example
 * ```ts
 * const nlu = new ClassicNlu({ modelCacheDir: '.kefu/models' });
 * await nlu.train([{ text: 'where is my parcel', intent: 'track_order' }, ...]);
 * const [best] = await nlu.classify('has my order shipped?');
 * ```
 */
export class ClassicNlu implements NluProvider {
  readonly name = 'classic';
  private readonly options: ResolvedClassicOptions;
  private readonly logger: Logger;
  private served: Served | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private last: ClassicTrainInfo | undefined;
  private z = new Float32Array(0);

  /** @throws KefuError `INTENTS_OPTIONS_INVALID` when an option is out of range. */
  constructor(options: ClassicNluOptions = {}) {
    this.options = parseClassicOptions(options);
    this.logger = this.options.logger ?? silentLogger;
  }

  /** Whether a model is serving. */
  get isTrained(): boolean {
    return this.served !== undefined;
  }

  /** What the last completed `train()` or `load()` did. */
  get lastTraining(): ClassicTrainInfo | undefined {
    return this.last;
  }

  /** The serving model's intents, `oos` included when it was trained with one. */
  get intents(): readonly string[] {
    return this.served?.model.labels ?? [];
  }

  /**
   * Learns `examples`. The previous model keeps serving until this resolves;
   * calls made while one runs are queued. With `modelCacheDir`, a model
   * trained earlier on the same data and options is loaded instead.
   *
   * @throws KefuError `INTENTS_DATA_INVALID` when an example is malformed or
   *   no in-scope intent is left.
   */
  train(examples: readonly TrainingExample[]): Promise<void> {
    const run = this.queue.then(() => this.trainNow(examples));
    this.queue = run.catch(() => undefined);

    return run;
  }

  /**
   * Ranks intents for `text`, best first, at most `topK` of them. `oos` comes
   * first when the best in-scope intent falls below the calibrated threshold
   * or the model ranks its `oos` class first.
   *
   * @throws KefuError `INTENTS_NOT_TRAINED` before the first `train()` or
   *   `load()`, `INTENTS_DATA_INVALID` when `text` is not a string.
   */
  async classify(text: string, _session?: SessionView): Promise<IntentScore[]> {
    return this.classifySync(text);
  }

  /** {@link classify} without the promise, for batch evaluation. */
  classifySync(text: string): IntentScore[] {
    const served = this.served;
    if (served === undefined) throw new KefuError('INTENTS_NOT_TRAINED', 'ClassicNlu has no model yet; call train() first');
    if (typeof text !== 'string') throw new KefuError('INTENTS_DATA_INVALID', `expected a string to classify, got ${typeof text}`);

    const { model, featurizer } = served;
    const oos = this.options.oosIntent;
    const x = featurizer.vectorize(text);
    if (x.idx.length === 0) return [{ intent: oos, score: 1 }];

    const classes = model.labels.length;
    if (this.z.length !== classes) this.z = new Float32Array(classes);
    const p = this.z;
    logitsQuantized(model.quantized, model.scales, model.bias, x, p);
    softmax(p, model.temperature);

    const k = Math.min(this.options.topK, classes);
    const top = topIndices(p, k);
    const best = top[0]!;
    const bestInScope = best === model.oosIndex ? -1 : best;

    const confidence = bestInScope >= 0 ? p[bestInScope]! * familiarity(x.known) : 0;
    if (confidence >= model.threshold) {
      return Array.from(top, (i) => ({ intent: model.labels[i]!, score: p[i]! }));
    }

    // Out of scope: `oos` first, then the in-scope guesses for context.
    const oosScore = best === model.oosIndex ? p[best]! : 1 - confidence;
    const ranked: IntentScore[] = [{ intent: oos, score: oosScore }];
    for (const i of top) {
      if (i !== model.oosIndex && ranked.length < k) ranked.push({ intent: model.labels[i]!, score: p[i]! });
    }

    return ranked;
  }

  /** Saves the serving model to `file`. @throws KefuError `INTENTS_NOT_TRAINED`. */
  async save(file: string): Promise<void> {
    if (this.served === undefined) throw new KefuError('INTENTS_NOT_TRAINED', 'ClassicNlu has no model to save');
    await writeModelFile(file, this.served.model);
  }

  /**
   * Loads a model saved by {@link save} and serves it.
   *
   * @throws KefuError `INTENTS_MODEL_NOT_FOUND`, `INTENTS_MODEL_INVALID`.
   */
  async load(file: string): Promise<void> {
    const model = await readModelFile(file);
    this.serve(model);
    this.last = this.infoOf(model, true, 0, 0);
  }

  async close(): Promise<void> {
    await this.queue;
  }

  private serve(model: ClassicModel): void {
    this.served = { model, featurizer: new Featurizer(model.features, model.idf, model.unseenIdf) };
  }

  private infoOf(model: ClassicModel, fromCache: boolean, examples: number, durationMs: number): ClassicTrainInfo {
    return {
      fromCache,
      examples,
      intents: model.labels.length,
      durationMs,
      temperature: model.temperature,
      threshold: model.threshold,
    };
  }

  private async trainNow(examples: readonly TrainingExample[]): Promise<void> {
    const started = performance.now();
    const data = validateExamples(examples, this.options.oosIntent);
    const hash = this.hashOf(data);
    const cacheFile = this.options.modelCacheDir === undefined ? undefined : join(this.options.modelCacheDir, `classic-${hash.slice(0, 32)}.kefunlu`);

    if (cacheFile !== undefined) {
      const cached = await this.readCache(cacheFile, hash);
      if (cached !== undefined) {
        this.serve(cached);
        this.last = this.infoOf(cached, true, data.length, performance.now() - started);
        this.logger.info({ file: cacheFile, durationMs: this.last.durationMs }, 'classic NLU model loaded from cache');
        return;
      }
    }

    const model = await this.fit(data, hash);
    this.serve(model);
    this.last = this.infoOf(model, false, data.length, performance.now() - started);
    this.logger.info(
      { examples: data.length, intents: model.labels.length, durationMs: Math.round(this.last.durationMs) },
      'classic NLU trained',
    );

    if (cacheFile !== undefined) {
      try {
        await writeModelFile(cacheFile, model);
      } catch (err) {
        this.logger.warn({ err, file: cacheFile }, 'classic NLU model could not be cached');
      }
    }
  }

  private async readCache(file: string, hash: string): Promise<ClassicModel | undefined> {
    try {
      const model = await readModelFile(file);
      if (model.hash === hash) return model;
      this.logger.warn({ file }, 'cached classic NLU model has another hash; retraining');
    } catch (err) {
      if (!isKefuError(err, 'INTENTS_MODEL_NOT_FOUND')) {
        this.logger.warn({ err, file }, 'cached classic NLU model is unreadable; retraining');
      }
    }

    return undefined;
  }

  private hashOf(data: readonly TrainingExample[]): string {
    const o = this.options;
    const h = createHash('sha256');
    h.update(
      JSON.stringify({
        format: 1,
        dim: o.dim,
        charNgrams: o.charNgrams,
        hanNgrams: o.hanNgrams,
        wordWeight: o.wordWeight,
        epochs: o.epochs,
        learningRate: o.learningRate,
        l2: o.l2,
        dropout: o.dropout,
        seed: o.seed,
        ensemble: o.ensemble,
        rejectRate: o.rejectRate,
        intentNameExamples: o.intentNameExamples,
        threshold: o.threshold ?? null,
        oosIntent: o.oosIntent,
      }),
    );
    for (const e of data) h.update(`\u0000${e.intent}\u0001${e.text}`);

    return h.digest('hex');
  }

  private async fit(data: readonly TrainingExample[], hash: string): Promise<ClassicModel> {
    const o = this.options;
    const features: FeatureConfig = {
      dim: o.dim,
      charMin: o.charNgrams[0],
      charMax: o.charNgrams[1],
      hanMin: o.hanNgrams[0],
      hanMax: o.hanNgrams[1],
      wordWeight: o.wordWeight,
    };
    const featurizer = new Featurizer(features);

    const labels: string[] = [];
    const labelIndex = new Map<string, number>();
    for (const e of data) {
      if (!labelIndex.has(e.intent)) {
        labelIndex.set(e.intent, labels.length);
        labels.push(e.intent);
      }
    }
    // Examples from the intents' names follow the real ones, so that
    // calibration can keep them out of its held-out folds.
    const all = [...data, ...nameExamples(labels, o.oosIntent, o.intentNameExamples)];
    const ys = new Int32Array(all.length);
    all.forEach((e, i) => (ys[i] = labelIndex.get(e.intent)!));
    const oosIndex = labelIndex.get(o.oosIntent) ?? -1;
    const classes = labels.length;

    const slice = slicer();
    const raw = [];
    for (const e of all) {
      raw.push(featurizer.extract(e.text));
      await slice();
    }
    this.logger.debug({ phase: 'idf' }, 'classic NLU training phase');
    featurizer.fitIdf(raw);
    await yieldToLoop();
    const xs: SparseVector[] = [];
    for (const r of raw) {
      xs.push(featurizer.weigh(r));
      await slice();
    }

    const params: TrainParams = {
      epochs: o.epochs,
      learningRate: o.learningRate,
      l2: o.l2,
      dropout: o.dropout,
      seed: o.seed,
      minGrad: 1e-2,
      pause: yieldToLoop,
    };

    let temperature = 1;
    let threshold = o.threshold ?? MIN_THRESHOLD;
    if (o.threshold === undefined && classes > 1) {
      this.logger.debug({ phase: 'calibrate' }, 'classic NLU training phase');
      ({ temperature, threshold } = await this.calibrate(xs, ys, data.length, classes, oosIndex, params));
      threshold = Math.max(threshold, MIN_THRESHOLD);
    }

    this.logger.debug({ phase: 'train' }, 'classic NLU training phase');
    const linear = await trainAveraged(xs, ys, features.dim, classes, params, ensembleSize(o.ensemble, xs.length));
    await yieldToLoop();
    this.logger.debug({ phase: 'quantize' }, 'classic NLU training phase');
    const q = quantize(linear.weights, features.dim, classes);

    return {
      hash,
      labels,
      oosIndex,
      features,
      temperature,
      threshold,
      unseenIdf: featurizer.unseenIdf,
      idf: featurizer.idf,
      bias: linear.bias,
      scales: q.scales,
      quantized: q.quantized,
    };
  }

  /**
   * Trains on folds of the data and scores the held-out parts, to fit the
   * softmax temperature and the out-of-scope threshold. Examples from
   * `heldOutBelow` on (those made from intent names) are never held out.
   */
  private async calibrate(
    xs: readonly SparseVector[],
    ys: Int32Array,
    heldOutBelow: number,
    classes: number,
    oosIndex: number,
    params: TrainParams,
  ): Promise<{ temperature: number; threshold: number }> {
    const folds = assignFolds(ys.subarray(0, heldOutBelow), classes, FOLDS, params.seed);
    const rounds = xs.length <= FULL_CROSS_VALIDATION_MAX ? FOLDS : 1;
    const heldIdx: number[] = [];
    const heldLogits: number[] = [];
    const heldKnown: number[] = [];
    const z = new Float32Array(classes);
    const seen = new Uint8Array(this.options.dim);

    for (let f = 0; f < rounds; f++) {
      const trainIdx: number[] = [];
      const testIdx: number[] = [];
      for (let i = 0; i < xs.length; i++) (i < folds.length && folds[i] === f ? testIdx : trainIdx).push(i);
      if (testIdx.length === 0) continue;

      const foldXs = trainIdx.map((i) => xs[i]!);
      const foldYs = Int32Array.from(trainIdx, (i) => ys[i]!);
      this.logger.debug({ phase: 'train-fold' }, 'classic NLU training phase');
      // On a big set, the one fold model trains for half the epochs: it only
      // has to score like the final model, and calibration then costs under
      // half the training. Small sets get full cross-validation, which is cheap.
      const epochs = rounds === 1 ? Math.ceil(params.epochs * CALIBRATION_EPOCHS) : params.epochs;
      const foldParams = { ...params, epochs };
      const m = await trainSoftmax(foldXs, foldYs, this.options.dim, classes, foldParams);

      // What the fold's model saw, so that held-out text is as familiar to
      // it as new text will be to the final model.
      seen.fill(0);
      for (const x of foldXs) for (const b of x.idx) seen[b] = 1;

      const slice = slicer();
      for (const i of testIdx) {
        await slice();
        const x = xs[i]!;
        logits(m, x, z);
        heldIdx.push(i);
        for (let j = 0; j < classes; j++) heldLogits.push(z[j]!);
        let known = 0;
        for (let k = 0; k < x.idx.length; k++) if (seen[x.idx[k]!] === 1) known += x.val[k]! * x.val[k]!;
        heldKnown.push(known);
      }
      await yieldToLoop();
    }

    this.logger.debug({ phase: 'fit-temperature' }, 'classic NLU training phase');
    const heldYs = Int32Array.from(heldIdx, (i) => ys[i]!);
    const all = Float32Array.from(heldLogits);
    const temperature = await fitTemperature(all, heldYs, classes, yieldToLoop);

    const accept: number[] = [];
    const slice = slicer();
    for (let n = 0; n < heldIdx.length; n++) {
      await slice();
      if (heldYs[n] === oosIndex) continue;
      const p = all.subarray(n * classes, (n + 1) * classes).slice();
      softmax(p, temperature);
      let best = 0;
      for (let j = 1; j < classes; j++) if (p[j]! > p[best]!) best = j;
      accept.push(best === oosIndex ? 0 : p[best]! * familiarity(heldKnown[n]!));
    }

    return { temperature, threshold: thresholdForRejectRate(Float64Array.from(accept), this.options.rejectRate) };
  }
}

/** The number of models {@link trainAveraged} averages for `examples` training examples. */
export function ensembleSize(ensemble: number | 'auto', examples: number): number {
  if (ensemble !== 'auto') return ensemble;

  return Math.max(MIN_AUTO_ENSEMBLE, Math.min(MAX_AUTO_ENSEMBLE, Math.floor(ENSEMBLE_BUDGET / Math.max(1, examples))));
}

/**
 * Trains `size` softmax models that differ only in their seed (shuffles and
 * dropout masks) and returns their mean. The mean of linear models is a
 * linear model, so serving it costs what one model costs; on a small set it
 * removes most of the noise that one seed's shuffles and masks leave.
 */
async function trainAveraged(
  xs: readonly SparseVector[],
  ys: Int32Array,
  dim: number,
  classes: number,
  params: TrainParams,
  size: number,
): Promise<LinearModel> {
  const sum = await trainSoftmax(xs, ys, dim, classes, params);
  if (size === 1) return sum;

  for (let k = 1; k < size; k++) {
    // Seeds far apart, so that no member repeats another's stream.
    const m = await trainSoftmax(xs, ys, dim, classes, { ...params, seed: (params.seed + k * 0x9e3779b9) | 0 });
    for (let i = 0; i < sum.weights.length; i++) sum.weights[i]! += m.weights[i]!;
    for (let j = 0; j < classes; j++) sum.bias[j]! += m.bias[j]!;
    await yieldToLoop();
  }
  for (let i = 0; i < sum.weights.length; i++) sum.weights[i]! /= size;
  for (let j = 0; j < classes; j++) sum.bias[j]! /= size;

  return sum;
}

/**
 * How much of a text the model recognises, as a factor on its confidence:
 * 1 when at least a fifth of the feature mass is on buckets seen in training,
 * falling to 0 for text made only of unseen words and n-grams. The softmax
 * alone cannot see this: such text scores from the biases, and with few
 * examples the favourite class can win with a high probability.
 */
function familiarity(known: number): number {
  return Math.min(1, known / FAMILIAR_KNOWN);
}

/** Indices of the `k` largest values of `p`, largest first. */
function topIndices(p: Float32Array, k: number): Int32Array {
  const top = new Int32Array(k).fill(-1);
  let filled = 0;
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    if (filled === k && v <= p[top[k - 1]!]!) continue;
    let at = filled < k ? filled++ : k - 1;
    while (at > 0 && p[top[at - 1]!]! < v) {
      top[at] = top[at - 1]!;
      at--;
    }
    top[at] = i;
  }

  return top;
}

function validateExamples(examples: unknown, oosIntent: string): TrainingExample[] {
  if (!Array.isArray(examples)) throw new KefuError('INTENTS_DATA_INVALID', 'training examples must be an array');

  const out: TrainingExample[] = [];
  let inScope = 0;
  examples.forEach((e: unknown, i) => {
    const r = e as Partial<TrainingExample> | null;
    if (typeof r !== 'object' || r === null || typeof r.text !== 'string' || typeof r.intent !== 'string') {
      throw new KefuError('INTENTS_DATA_INVALID', `example ${i} must be { text: string, intent: string }`, {
        details: { index: i },
      });
    }
    if (r.intent.trim() === '') {
      throw new KefuError('INTENTS_DATA_INVALID', `example ${i} has an empty intent`, { details: { index: i } });
    }
    if (r.text.trim() === '') return;
    if (r.intent !== oosIntent) inScope++;
    out.push({ text: r.text, intent: r.intent });
  });
  if (inScope === 0) throw new KefuError('INTENTS_DATA_INVALID', 'training data has no in-scope example');

  return out;
}
