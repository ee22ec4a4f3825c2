import type { Worker } from 'node:worker_threads';

import { KefuError, silentLogger } from '@kefu/core';
import type { Logger } from '@kefu/core';

import type { EmbedRequest, WorkerMessage } from './protocol.js';

interface Job {
  resolve: (vectors: Float32Array[]) => void;
  reject: (err: KefuError) => void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
}

/**
 * A fixed-size pool of embedding workers. Each job goes to the worker with
 * the fewest jobs in flight. A worker that dies fails its own jobs with
 * `INTENTS_WORKER_FAILED` and is replaced on the next call; `close()` stops
 * them all, and the next call starts them again.
 */
export class WorkerPool {
  readonly #size: number;
  readonly #spawn: () => Worker;
  readonly #logger: Logger;
  #slots: Slot[] = [];
  #starting: Promise<void> | undefined;
  #nextId = 0;

  /**
   * @param spawn creates one worker; it must answer `ready` or `init-failed`
   *   first, then `embedded` or `failed` for each request.
   */
  constructor(size: number, spawn: () => Worker, logger: Logger = silentLogger) {
    this.#size = size;
    this.#spawn = spawn;
    this.#logger = logger;
  }

  /** How many workers are running. */
  get size(): number {
    return this.#slots.length;
  }

  /**
   * Starts the missing workers and waits until each has loaded its model.
   * @throws {KefuError} the code the worker reported (`INTENTS_MODEL_*`,
   *   `INTENTS_REMOTE_FAILED`), or `INTENTS_WORKER_FAILED`.
   */
  start(): Promise<void> {
    if (this.#slots.length >= this.#size) return Promise.resolve();

    this.#starting ??= this.#fill().finally(() => {
      this.#starting = undefined;
    });

    return this.#starting;
  }

  /** Embeds `texts` in one worker; resolves one vector per text, in order. */
  async embed(texts: string[]): Promise<Float32Array[]> {
    await this.start();

    const slot = this.#slots.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
    const id = this.#nextId++;
    const request: EmbedRequest = { type: 'embed', id, texts };

    return new Promise((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      slot.worker.postMessage(request);
    });
  }

  /** Stops every worker; jobs in flight fail with `INTENTS_WORKER_FAILED`. */
  async close(): Promise<void> {
    // Let a start in progress finish, so that no worker it spawns outlives us.
    await this.#starting?.catch(() => {});

    const slots = this.#slots;
    this.#slots = [];

    await Promise.all(
      slots.map((slot) => {
        this.#failJobs(slot, 'the pool closed before the worker answered');

        return slot.worker.terminate();
      }),
    );
  }

  async #fill(): Promise<void> {
    const missing = this.#size - this.#slots.length;
    const results = await Promise.allSettled(
      Array.from({ length: missing }, () => this.#startOne()),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');

    if (failed !== undefined) {
      // One worker could not load the model, so none will: stop the others.
      for (const r of results) if (r.status === 'fulfilled') this.#remove(r.value, true);
      throw failed.reason;
    }
  }

  #startOne(): Promise<Slot> {
    const worker = this.#spawn();
    const slot: Slot = { worker, jobs: new Map() };

    return new Promise<Slot>((resolve, reject) => {
      let isReady = false;

      worker.on('message', (message: WorkerMessage) => {
        switch (message.type) {
          case 'ready':
            isReady = true;
            this.#slots.push(slot);
            resolve(slot);
            break;
          case 'init-failed':
            void worker.terminate();
            reject(new KefuError(message.code, `the embedding model did not load: ${message.message}`));
            break;
          case 'embedded':
            this.#settle(slot, message.id, message.data, message.dim);
            break;
          case 'failed':
            this.#fail(slot, message.id, message.message);
            break;
          case 'log':
            this.#logger[message.level]({ threadId: worker.threadId, detail: message.message }, 'embedding worker says');
            break;
        }
      });
      worker.on('error', (err) => {
        this.#logger.error({ err, threadId: worker.threadId }, 'embedding worker crashed');
        if (!isReady) {
          reject(new KefuError('INTENTS_WORKER_FAILED', 'the embedding worker crashed while starting', { cause: err }));
        }
      });
      worker.on('exit', (exitCode) => {
        if (!isReady) {
          reject(new KefuError('INTENTS_WORKER_FAILED', `the embedding worker exited with code ${exitCode} while starting`));
        }
        this.#remove(slot, false);
      });
    });
  }

  #settle(slot: Slot, id: number, data: Float32Array, dim: number): void {
    const job = slot.jobs.get(id);
    if (job === undefined) return;

    slot.jobs.delete(id);

    const vectors: Float32Array[] = [];
    for (let offset = 0; offset + dim <= data.length && dim > 0; offset += dim) {
      vectors.push(data.subarray(offset, offset + dim));
    }
    job.resolve(vectors);
  }

  #fail(slot: Slot, id: number, message: string): void {
    const job = slot.jobs.get(id);
    if (job === undefined) return;

    slot.jobs.delete(id);
    job.reject(new KefuError('INTENTS_WORKER_FAILED', `embedding failed in the worker: ${message}`));
  }

  #failJobs(slot: Slot, reason: string): void {
    for (const job of slot.jobs.values()) job.reject(new KefuError('INTENTS_WORKER_FAILED', reason));
    slot.jobs.clear();
  }

  #remove(slot: Slot, terminate: boolean): void {
    this.#slots = this.#slots.filter((s) => s !== slot);
    this.#failJobs(slot, 'the embedding worker stopped before answering');
    if (terminate) void slot.worker.terminate();
  }
}
