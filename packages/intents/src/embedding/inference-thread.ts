import type { Worker } from 'node:worker_threads';

import { KefuError, silentLogger } from '@kefu/core';
import type { Logger } from '@kefu/core';

import type { WorkerMessage, WorkerReply, WorkerRequest } from './protocol.js';

/** A request as callers write it: the thread numbers it. */
type Request = WorkerRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

interface Pending {
  resolve: (reply: WorkerReply) => void;
  reject: (err: KefuError) => void;
}

/**
 * One worker thread and its requests in flight. The thread holds a
 * reference on the event loop only while a request is in flight, so an idle
 * thread never keeps the host process alive.
 */
export class InferenceThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  /** How many providers use each model key on this thread. */
  readonly users = new Map<string, number>();
  #nextId = 0;
  #isDead = false;
  #logger: Logger = silentLogger;
  readonly #onDeath: (thread: InferenceThread) => void;

  constructor(worker: Worker, onDeath: (thread: InferenceThread) => void) {
    this.#worker = worker;
    this.#onDeath = onDeath;
    worker.unref();

    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'log') {
        this.#logger[message.level](
          { threadId: worker.threadId, detail: message.message },
          'embedding worker says',
        );
      } else if (message.type !== 'started') {
        this.#settle(message);
      }
    });
    worker.on('error', (err) => {
      this.#logger.error({ err, threadId: worker.threadId }, 'embedding worker crashed');
      this.#die(err);
    });
    worker.on('exit', () => this.#die(undefined));
  }

  /** Where the thread's log lines go: the logger of the provider that used it last. */
  set logger(logger: Logger) {
    this.#logger = logger;
  }

  /** Requests in flight: the pool sends work to the least busy thread. */
  get load(): number {
    return this.#pending.size;
  }

  get isDead(): boolean {
    return this.#isDead;
  }

  /** Sends one request; a `failed` answer rejects with its code. */
  request(request: Request, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.#isDead) {
      return Promise.reject(new KefuError('INTENTS_WORKER_FAILED', 'the embedding worker is gone'));
    }

    const id = this.#nextId++;

    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...request, id } as WorkerRequest, transfer);
    });
  }

  #settle(reply: WorkerReply): void {
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;

    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker.unref();

    if (reply.type === 'failed') pending.reject(new KefuError(reply.code, reply.message));
    else pending.resolve(reply);
  }

  #die(cause: unknown): void {
    if (this.#isDead) return;

    this.#isDead = true;
    for (const pending of this.#pending.values()) {
      pending.reject(
        new KefuError('INTENTS_WORKER_FAILED', 'the embedding worker stopped before answering', {
          cause,
        }),
      );
    }
    this.#pending.clear();
    this.#onDeath(this);
  }
}

/**
 * The process's inference threads, shared by every EmbeddingNlu.
 *
 * Known limit of onnxruntime-node 1.14 (the runtime under the transformers
 * library): a worker thread that has used it cannot be stopped safely, as
 * tearing the thread down corrupts the process's memory, and a thread that
 * exits takes the addon's registration with it. So threads are started on
 * demand and live as long as the process; `close()` unloads the model from
 * them instead. Idle threads do not keep the process alive.
 */
const threads: InferenceThread[] = [];

/** Returns `count` live threads, starting the missing ones with `spawn`. */
export function acquireThreads(count: number, spawn: () => Worker): InferenceThread[] {
  while (threads.length < count) {
    threads.push(
      new InferenceThread(spawn(), (dead) => {
        const at = threads.indexOf(dead);
        if (at >= 0) threads.splice(at, 1);
      }),
    );
  }

  return threads.slice(0, count);
}
