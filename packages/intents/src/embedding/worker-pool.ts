import type { Worker } from 'node:worker_threads';

import { KefuError, silentLogger } from '@kefu/core';
import type { Logger } from '@kefu/core';

import { acquireThreads } from './inference-thread.js';
import type { InferenceThread } from './inference-thread.js';
import type { FoundRows, ModelConfig, SearchSpec } from './protocol.js';

/** One batch's answer: the vectors, and the nearest rows when a search was asked. */
export interface EmbedResult {
  vectors: Float32Array[];
  found: FoundRows | undefined;
}

/**
 * One provider's share of the inference threads: its model loaded on
 * `size` of them, each batch sent to the least busy. `close()` unloads the
 * model (when no other provider uses it) and fails the calls in flight with
 * `INTENTS_WORKER_FAILED`; the next call loads it again.
 */
export class WorkerPool {
  readonly #size: number;
  readonly #spawn: () => Worker;
  readonly #config: ModelConfig;
  readonly #key: string;
  readonly #logger: Logger;
  #threads: InferenceThread[] = [];
  /** Threads on which this pool counts as a user of its model. */
  readonly #held = new Set<InferenceThread>();
  #starting: Promise<InferenceThread[]> | undefined;
  /** The provider's current index, sent to every thread that joins the pool. */
  #index: { name: string; vectors: Float32Array; dim: number } | undefined;
  /** Rejecters of the calls in flight, so that `close()` can fail them at once. */
  readonly #inFlight = new Set<(err: KefuError) => void>();

  constructor(
    size: number,
    config: ModelConfig,
    spawn: () => Worker,
    logger: Logger = silentLogger,
  ) {
    this.#size = size;
    this.#config = config;
    this.#key = JSON.stringify(config);
    this.#spawn = spawn;
    this.#logger = logger;
  }

  /**
   * Loads the model on the pool's threads (once; again after `close()` or
   * after a thread died).
   * @throws {KefuError} `INTENTS_MODEL_NOT_FOUND`, `INTENTS_MODEL_INVALID`,
   *   `INTENTS_REMOTE_FAILED` or `INTENTS_WORKER_FAILED`.
   */
  async start(): Promise<void> {
    await this.#ready();
  }

  /**
   * Embeds `texts` on one thread; resolves one vector per text, in order,
   * and, with `search`, the nearest rows of the current index for each.
   */
  async embed(texts: string[], search?: SearchSpec): Promise<EmbedResult> {
    const thread = await this.#pick();
    const request =
      search === undefined
        ? { type: 'embed' as const, key: this.#key, texts }
        : { type: 'embed' as const, key: this.#key, texts, search };
    const reply = await this.#track(thread.request(request));

    if (
      reply.type !== 'embedded' ||
      reply.dim === 0 ||
      reply.data.length !== reply.dim * texts.length
    ) {
      throw new KefuError(
        'INTENTS_WORKER_FAILED',
        'the embedding worker answered with the wrong number of values',
      );
    }

    return {
      vectors: texts.map((_, i) => reply.data.subarray(i * reply.dim, (i + 1) * reply.dim)),
      found: reply.found,
    };
  }

  /** Searches the current index for already embedded `vectors` (rows of `dim`). */
  async search(vectors: Float32Array, search: SearchSpec): Promise<FoundRows> {
    const thread = await this.#pick();
    const reply = await this.#track(
      thread.request({ type: 'search', vectors, search }, [vectors.buffer as ArrayBuffer]),
    );

    if (reply.type !== 'searched')
      throw new KefuError('INTENTS_WORKER_FAILED', 'the embedding worker did not search');

    return reply.found;
  }

  /**
   * Hands an index (in shared memory) to the pool's threads; it also goes
   * to any thread that joins later. The previous one stays until dropped.
   */
  async addIndex(name: string, vectors: Float32Array, dim: number): Promise<void> {
    const threads = await this.#ready();
    this.#index = { name, vectors, dim };

    await Promise.all(
      threads.map((thread) => thread.request({ type: 'index', index: name, vectors, dim })),
    );
  }

  /**
   * Drops an index from the threads. Requests sent before still search it:
   * a worker looks an index up when a request arrives.
   */
  async dropIndex(name: string): Promise<void> {
    await Promise.all(
      this.#threads.map((thread) =>
        thread.request({ type: 'drop-index', index: name }).catch(() => {}),
      ),
    );
  }

  async #pick(): Promise<InferenceThread> {
    const threads = await this.#ready();
    const thread = threads.reduce((a, b) => (b.load < a.load ? b : a));
    thread.logger = this.#logger;

    return thread;
  }

  /** Unloads the model; the calls in flight fail with `INTENTS_WORKER_FAILED`. */
  async close(): Promise<void> {
    const threads = (await this.#starting?.catch(() => [])) ?? [];
    this.#threads = [];
    this.#starting = undefined;

    const closed = new KefuError(
      'INTENTS_WORKER_FAILED',
      'the provider closed before the worker answered',
    );
    for (const reject of this.#inFlight) reject(closed);
    this.#inFlight.clear();

    const index = this.#index;
    await Promise.all(
      threads.map(async (thread) => {
        if (index !== undefined)
          await thread.request({ type: 'drop-index', index: index.name }).catch(() => {});
        await this.#release(thread);
      }),
    );
  }

  #ready(): Promise<InferenceThread[]> {
    if (this.#threads.length > 0 && this.#threads.every((t) => !t.isDead))
      return Promise.resolve(this.#threads);

    this.#starting ??= this.#load().then(
      (threads) => {
        this.#threads = threads;
        return threads;
      },
      (err: unknown) => {
        this.#starting = undefined;
        throw err;
      },
    );

    return this.#starting.then((threads) => {
      if (threads.some((t) => t.isDead)) {
        this.#starting = undefined;
        this.#threads = [];
        return this.#ready();
      }
      return threads;
    });
  }

  async #load(): Promise<InferenceThread[]> {
    const threads = acquireThreads(this.#size, this.#spawn);
    const results = await Promise.allSettled(
      threads.map(async (thread) => {
        thread.logger = this.#logger;
        if (!thread.users.has(this.#key)) {
          await thread.request({ type: 'load', key: this.#key, config: this.#config });
        }
        // A thread kept from before a restart already counts this pool.
        if (!this.#held.has(thread)) {
          this.#held.add(thread);
          thread.users.set(this.#key, (thread.users.get(this.#key) ?? 0) + 1);
        }
        const index = this.#index;
        if (index !== undefined) {
          await thread.request({
            type: 'index',
            index: index.name,
            vectors: index.vectors,
            dim: index.dim,
          });
        }
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');

    if (failed !== undefined) {
      // One thread could not load the model, so none will: release the others.
      await Promise.all(
        threads.filter((_, i) => results[i]?.status === 'fulfilled').map((t) => this.#release(t)),
      );
      throw failed.reason;
    }

    return threads;
  }

  async #release(thread: InferenceThread): Promise<void> {
    if (!this.#held.delete(thread)) return;

    const users = (thread.users.get(this.#key) ?? 1) - 1;
    if (users > 0) {
      thread.users.set(this.#key, users);
      return;
    }

    thread.users.delete(this.#key);
    await thread.request({ type: 'unload', key: this.#key }).catch(() => {});
  }

  /** Lets `close()` fail a call at once, whatever the worker does. */
  #track<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (err: KefuError): void => reject(err);
      this.#inFlight.add(fail);
      work.then(resolve, reject).finally(() => this.#inFlight.delete(fail));
    });
  }
}
