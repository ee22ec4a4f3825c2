import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { KefuError, silentLogger } from '@kefu/core';
import type { IntentScore, Logger, NluProvider, SessionView, TrainingExample } from '@kefu/core';
import { z } from 'zod';

import { calibrationSample, leaveOneOutCentroid, lowQuantile } from './calibrate.js';
import { buildIndex, neighbourCount, rankNeighbours } from './classifier.js';
import type { Ranking, VectorIndex } from './classifier.js';
import { EmbeddingCache } from './embedding-cache.js';
import { missingModelFiles } from './model-files.js';
import { pinNativeRuntime } from './native-runtime.js';
import { spawnWorker } from './spawn-worker.js';
import type { FoundRows, ModelConfig, SearchSpec } from './protocol.js';
import { WorkerPool } from './worker-pool.js';

// Sources run as TypeScript (through tsx) in this repository and as `.js`
// once built: the worker keeps the extension of this very file.
const WORKER_URL = new URL(
  `./embed-worker${extname(fileURLToPath(import.meta.url)) === '.ts' ? '.ts' : '.js'}`,
  import.meta.url,
);

/** A hub-style model id: `name` or `org/name`, no path tricks. */
const MODEL_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

const isLogger = (value: unknown): value is Logger =>
  typeof value === 'object' &&
  value !== null &&
  ['debug', 'info', 'warn', 'error', 'child'].every(
    (method) => typeof (value as Record<string, unknown>)[method] === 'function',
  );

const optionsSchema = z
  .object({
    model: z
      .string()
      .regex(MODEL_ID)
      .refine((id) => !id.split('/').some((part) => /^\.+$/.test(part)))
      .default('Xenova/all-MiniLM-L6-v2'),
    localModelPath: z.string().min(1).default('models'),
    allowRemoteModels: z.boolean().default(false),
    remoteHost: z.url({ protocol: /^https?$/ }).optional(),
    cacheDir: z.string().min(1).optional(),
    quantized: z.boolean().default(true),
    workers: z.int().min(1).max(16).default(1),
    batchSize: z.int().min(1).max(1024).default(32),
    classifier: z.enum(['knn', 'centroid']).default('knn'),
    k: z.int().min(1).max(100).default(5),
    threshold: z.union([z.number().min(-1).max(1), z.literal('auto')]).default(0.5),
    cacheSize: z.int().min(0).max(10_000_000).default(20_000),
    logger: z.custom<Logger>(isLogger).optional(),
  })
  .strict();

/** Options of {@link EmbeddingNlu}; see the package README for each one. */
export type EmbeddingNluOptions = z.input<typeof optionsSchema>;

type ParsedOptions = z.output<typeof optionsSchema>;

/**
 * Checks the training examples by hand rather than with zod: parsing tens
 * of thousands of objects with a schema holds the event loop for a few
 * hundred milliseconds, and the shape is simple.
 */
function checkExamples(examples: unknown): asserts examples is readonly TrainingExample[] {
  const isText = (value: unknown): boolean => typeof value === 'string' && value.trim() !== '';

  if (!Array.isArray(examples) || examples.length === 0) {
    throw new KefuError(
      'INTENTS_DATA_INVALID',
      'training examples must be a non-empty list of { text, intent }',
    );
  }
  examples.forEach((example: unknown, index) => {
    const { text, intent } = (example ?? {}) as Record<string, unknown>;
    if (!isText(text) || !isText(intent)) {
      throw new KefuError(
        'INTENTS_DATA_INVALID',
        `training example ${index} needs a non-empty text and intent`,
        {
          details: { index },
        },
      );
    }
  });
}

interface Pending {
  text: string;
  resolve: (ranking: Ranking) => void;
  reject: (err: unknown) => void;
}

/** The index in use, and the name the worker threads know it by. */
interface NamedIndex {
  name: string;
  index: VectorIndex;
}

/**
 * Texts are cut to this many characters before embedding. Models read at
 * most a few hundred tokens anyway (512 for MiniLM), so the cut loses
 * nothing they would see, and a huge message cannot stall a worker.
 */
const MAX_TEXT_CHARS = 8_192;

const clip = (text: string): string =>
  text.length > MAX_TEXT_CHARS ? text.slice(0, MAX_TEXT_CHARS) : text;

/** Gives each provider's indexes a name unique in the process. */
let nextProviderId = 0;

/** The `i`-th query's share of a batch's search results. */
function slice(found: FoundRows, i: number): { rows: Int32Array; sims: Float32Array } {
  const { count } = found;

  return {
    rows: found.rows.subarray(i * count, (i + 1) * count),
    sims: found.sims.subarray(i * count, (i + 1) * count),
  };
}

/**
 * An NLU on sentence embeddings: a transformer model (ONNX, through
 * `@xenova/transformers`) turns each text into a unit vector by mean pooling,
 * and the nearest training examples (or the nearest intent centroid) decide
 * the intent. A text whose best similarity stays under `threshold` is out of
 * scope. Inference runs in worker threads; concurrent `classify()` calls are
 * batched together.
 *
 * @example
 * ```ts
 * const nlu = new EmbeddingNlu({ model: 'Xenova/all-MiniLM-L6-v2', localModelPath: './models' });
 * await nlu.train([{ text: 'where is my parcel', intent: 'track' }]);
 * const [best] = await nlu.classify('track my package');
 * await nlu.close();
 * ```
 */
export class EmbeddingNlu implements NluProvider {
  readonly name = 'embedding';
  readonly #options: ParsedOptions;
  readonly #logger: Logger;
  readonly #pool: WorkerPool;
  readonly #cache: EmbeddingCache;
  readonly #cacheFile: string | undefined;
  readonly #id = `p${nextProviderId++}`;
  #index: NamedIndex | undefined;
  #threshold: number;
  #generation = 0;
  #modelChecked: Promise<void> | undefined;
  #cacheLoaded: Promise<void> | undefined;
  #queue: Pending[] = [];
  #isFlushScheduled = false;

  /** @throws {KefuError} `INTENTS_OPTIONS_INVALID` naming the bad field. */
  constructor(options: EmbeddingNluOptions = {}) {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) {
      const field = parsed.error.issues[0]?.path.join('.') ?? '';
      throw new KefuError('INTENTS_OPTIONS_INVALID', `EmbeddingNlu option "${field}" is invalid`, {
        cause: parsed.error,
        details: { issues: parsed.error.issues },
      });
    }

    this.#options = parsed.data;
    this.#threshold = parsed.data.threshold === 'auto' ? 0.5 : parsed.data.threshold;
    this.#logger = (parsed.data.logger ?? silentLogger).child({ nlu: 'embedding' });
    this.#cache = new EmbeddingCache(parsed.data.cacheSize);

    const { model, quantized, cacheDir } = parsed.data;
    this.#cacheFile =
      cacheDir === undefined
        ? undefined
        : join(
            resolve(cacheDir),
            'kefu-embeddings',
            `${model.replace('/', '__')}${quantized ? '.q' : ''}.bin`,
          );

    const config: ModelConfig = {
      model,
      localModelPath: resolve(parsed.data.localModelPath),
      cacheDir: resolve(cacheDir ?? parsed.data.localModelPath),
      allowRemoteModels: parsed.data.allowRemoteModels,
      remoteHost: parsed.data.remoteHost,
      quantized,
    };
    this.#pool = new WorkerPool(
      parsed.data.workers,
      config,
      () => {
        pinNativeRuntime();

        return spawnWorker(WORKER_URL);
      },
      this.#logger,
    );
  }

  /**
   * Embeds the examples (those already cached are not embedded again) and
   * swaps in the new index; the previous one serves until then. When two
   * calls overlap, the later one wins.
   * @throws {KefuError} `INTENTS_DATA_INVALID`, `INTENTS_REMOTE_DISABLED`,
   *   `INTENTS_MODEL_NOT_FOUND`, `INTENTS_MODEL_INVALID`,
   *   `INTENTS_REMOTE_FAILED`, `INTENTS_WORKER_FAILED`.
   */
  async train(examples: readonly TrainingExample[]): Promise<void> {
    checkExamples(examples);

    const generation = ++this.#generation;
    const started = performance.now();
    const vectors = await this.#embedAll(examples.map((e) => clip(e.text)));

    if (generation !== this.#generation) return;

    const index = buildIndex(
      this.#options.classifier,
      vectors,
      examples.map((e) => e.intent),
    );
    const named = { name: `${this.#id}.${generation}`, index };
    await this.#pool.addIndex(named.name, index.vectors, index.dim);

    // A later train() may have swapped its index in while this one was sent.
    if (generation !== this.#generation) {
      await this.#pool.dropIndex(named.name);
      return;
    }

    const threshold =
      this.#options.threshold === 'auto'
        ? await this.#calibrate(named, vectors, examples)
        : this.#threshold;
    if (generation !== this.#generation) {
      await this.#pool.dropIndex(named.name);
      return;
    }

    const previous = this.#index;
    this.#index = named;
    this.#threshold = threshold;
    if (previous !== undefined) await this.#pool.dropIndex(previous.name);

    if (this.#cacheFile !== undefined && this.#cache.isDirty)
      await this.#cache.save(this.#cacheFile);

    this.#logger.info(
      {
        examples: examples.length,
        intents: index.intents.length,
        durationMs: Math.round(performance.now() - started),
      },
      'embedding nlu trained',
    );
  }

  /**
   * Ranks the trained intents for `text`, best first. When the best
   * similarity is under `threshold`, `oos` comes first, scored
   * `1 - similarity`; an empty text is `oos` with score 1.
   * @throws {KefuError} `INTENTS_NOT_TRAINED`, `INTENTS_DATA_INVALID`,
   *   `INTENTS_WORKER_FAILED`.
   */
  async classify(text: string, _session?: SessionView): Promise<IntentScore[]> {
    if (typeof text !== 'string') {
      throw new KefuError(
        'INTENTS_DATA_INVALID',
        `classify() expects a string, got ${typeof text}`,
      );
    }

    if (this.#index === undefined) {
      throw new KefuError('INTENTS_NOT_TRAINED', 'EmbeddingNlu.classify() before train()');
    }
    if (text.trim() === '') return [{ intent: 'oos', score: 1 }];

    const { scores, bestSimilarity } = await this.#rank(clip(text));

    if (bestSimilarity < this.#threshold && scores[0]?.intent !== 'oos') {
      const score = Math.min(1, Math.max(0, 1 - bestSimilarity));

      return [{ intent: 'oos', score }, ...scores.filter((s) => s.intent !== 'oos')];
    }

    return scores;
  }

  /**
   * The similarity under which a text is out of scope: the option, or,
   * with `threshold: 'auto'`, the value the last `train()` calibrated.
   */
  get threshold(): number {
    return this.#threshold;
  }

  /**
   * Calibrates the threshold on the training data, since hosts rarely have a
   * validation set: each sampled example is compared with its nearest other
   * example (for centroids: its intent's centroid without it), and the
   * threshold is a low quantile of those similarities. `oos` examples are
   * left out.
   */
  async #calibrate(
    named: NamedIndex,
    vectors: Float32Array[],
    examples: readonly TrainingExample[],
  ): Promise<number> {
    const sample = calibrationSample(examples);
    if (sample.length === 0) return this.#threshold;

    const nearest =
      named.index.kind === 'knn'
        ? await this.#nearestOther(named, vectors, sample)
        : leaveOneOutCentroid(vectors, examples, sample);
    if (nearest.length === 0) return this.#threshold;

    const threshold = lowQuantile(nearest) ?? this.#threshold;
    this.#logger.info({ threshold, sampled: sample.length }, 'embedding nlu threshold calibrated');

    return threshold;
  }

  /** For each sampled row, its similarity to the nearest other example (searched in the workers). */
  async #nearestOther(
    named: NamedIndex,
    vectors: Float32Array[],
    sample: number[],
  ): Promise<number[]> {
    const { dim } = named.index;
    const queries = new Float32Array(sample.length * dim);
    sample.forEach((row, i) => queries.set(vectors[row] ?? new Float32Array(dim), i * dim));

    const found = await this.#pool.search(queries, { index: named.name, count: 2 });

    return sample.flatMap((row, i) => {
      const { rows, sims } = slice(found, i);
      // The example itself is its own best match: take the next one.
      const other = rows[0] === row ? sims[1] : sims[0];

      return other === undefined ? [] : [other];
    });
  }

  /**
   * Unloads the model from the worker threads and fails the calls in flight
   * with `INTENTS_WORKER_FAILED`. The trained index stays: a later call
   * loads the model again. The threads themselves live on, idle, for the
   * rest of the process (see "Known limitations" in the README).
   */
  async close(): Promise<void> {
    const queued = this.#queue.splice(0);
    const closed = new KefuError(
      'INTENTS_WORKER_FAILED',
      'the provider closed before the text was embedded',
    );
    for (const pending of queued) pending.reject(closed);

    await this.#pool.close();
  }

  /** Fails fast, and without any network attempt, when the files are absent. */
  #checkModel(): Promise<void> {
    const { model, quantized, localModelPath, cacheDir, allowRemoteModels } = this.#options;
    const folders = [resolve(localModelPath), resolve(cacheDir ?? localModelPath)];

    this.#modelChecked ??= missingModelFiles(model, quantized, folders).then((missing) => {
      if (missing.length > 0 && !allowRemoteModels) {
        this.#modelChecked = undefined;
        throw new KefuError(
          'INTENTS_REMOTE_DISABLED',
          `model "${model}" is not in ${folders[0] ?? ''} and remote models are disabled`,
          { details: { model, missing, folders } },
        );
      }
    });

    return this.#modelChecked;
  }

  async #embedAll(texts: string[]): Promise<Float32Array[]> {
    await this.#checkModel();
    if (this.#cacheFile !== undefined) {
      const file = this.#cacheFile;
      this.#cacheLoaded ??= this.#cache.load(file).then((count) => {
        this.#logger.debug({ count, file }, 'embedding cache loaded');
      });
      await this.#cacheLoaded;
    }

    const found = new Map<string, Float32Array>();
    const todo: string[] = [];
    let hashed = 0;
    for (const text of new Set(texts)) {
      const cached = this.#cache.get(text);
      if (cached === undefined) todo.push(text);
      else found.set(text, cached);
      // Hashing a large training set takes a while: let other work run.
      if (++hashed % 2_000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }

    // Texts of similar length batch together, so less of each batch is padding.
    todo.sort((a, b) => a.length - b.length);

    const { batchSize, workers } = this.#options;
    const batches: string[][] = [];
    for (let i = 0; i < todo.length; i += batchSize) batches.push(todo.slice(i, i + batchSize));

    // A few batches in flight per thread keep the threads busy, while the
    // classify() calls of a host that trains live still get their turn.
    let next = 0;
    const lane = async (): Promise<void> => {
      for (let batch = batches[next++]; batch !== undefined; batch = batches[next++]) {
        const { vectors } = await this.#pool.embed(batch);
        batch.forEach((text, i) => {
          const vector = vectors[i];
          if (vector === undefined) return;
          found.set(text, vector);
          this.#cache.set(text, vector);
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(batches.length, workers * 2) }, lane));

    return texts.map((text) => {
      const vector = found.get(text);
      if (vector === undefined) {
        throw new KefuError(
          'INTENTS_WORKER_FAILED',
          'the embedding worker returned fewer vectors than texts',
        );
      }

      return vector;
    });
  }

  /**
   * Queues one text; the queue goes to a worker as one batch, which embeds
   * the texts and searches the index there, off the event loop.
   */
  async #rank(text: string): Promise<Ranking> {
    if (this.#cache.get(text) === undefined) await this.#checkModel();

    return new Promise((resolve, reject) => {
      this.#queue.push({ text, resolve, reject });

      if (this.#queue.length >= this.#options.batchSize) this.#flush();
      else if (!this.#isFlushScheduled) {
        this.#isFlushScheduled = true;
        setImmediate(() => {
          this.#isFlushScheduled = false;
          this.#flush();
        });
      }
    });
  }

  #flush(): void {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#options.batchSize);
      const current = this.#index;

      if (current === undefined) {
        const err = new KefuError('INTENTS_NOT_TRAINED', 'EmbeddingNlu.classify() before train()');
        for (const pending of batch) pending.reject(err);
        continue;
      }

      const search: SearchSpec = {
        index: current.name,
        count: neighbourCount(current.index, this.#options.k),
      };
      const cached: { pending: Pending; vector: Float32Array }[] = [];
      const fresh: Pending[] = [];
      for (const pending of batch) {
        const vector = this.#cache.get(pending.text);
        if (vector === undefined) fresh.push(pending);
        else cached.push({ pending, vector });
      }

      if (fresh.length > 0) {
        this.#pool
          .embed(
            fresh.map((p) => p.text),
            search,
          )
          .then(
            ({ vectors, found }) => {
              fresh.forEach((pending, i) => {
                const vector = vectors[i];
                if (vector !== undefined) this.#cache.set(pending.text, vector);
                if (found === undefined) {
                  pending.reject(
                    new KefuError('INTENTS_WORKER_FAILED', 'the embedding worker did not search'),
                  );
                } else pending.resolve(rankNeighbours(current.index, slice(found, i)));
              });
            },
            (err: unknown) => {
              for (const pending of fresh) pending.reject(err);
            },
          );
      }

      if (cached.length > 0) {
        const dim = current.index.dim;
        const queries = new Float32Array(cached.length * dim);
        cached.forEach(({ vector }, i) => queries.set(vector, i * dim));

        this.#pool.search(queries, search).then(
          (found) =>
            cached.forEach(({ pending }, i) =>
              pending.resolve(rankNeighbours(current.index, slice(found, i))),
            ),
          (err: unknown) => {
            for (const { pending } of cached) pending.reject(err);
          },
        );
      }
    }
  }
}
