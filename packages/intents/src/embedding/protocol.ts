/**
 * Messages between the main thread and `embed-worker`. Kept free of runtime
 * imports so that the worker loads nothing but the transformers library.
 */

/** What a worker needs to load one model. */
export interface ModelConfig {
  model: string;
  localModelPath: string;
  cacheDir: string;
  allowRemoteModels: boolean;
  remoteHost: string | undefined;
  quantized: boolean;
}

/** The codes a worker may report for a model that did not load. */
export type LoadFailureCode =
  | 'INTENTS_MODEL_NOT_FOUND'
  | 'INTENTS_MODEL_INVALID'
  | 'INTENTS_REMOTE_FAILED'
  | 'INTENTS_DEPENDENCY_MISSING';

/** Search the provider's index for the nearest `count` rows of each vector. */
export interface SearchSpec {
  index: string;
  count: number;
}

/**
 * Main thread → worker. `key` names a loaded model: one worker serves every
 * provider that shares it. `index` names a provider's vectors, held in
 * shared memory.
 */
export type WorkerRequest =
  | { type: 'load'; id: number; key: string; config: ModelConfig }
  | { type: 'unload'; id: number; key: string }
  | { type: 'index'; id: number; index: string; vectors: Float32Array; dim: number }
  | { type: 'drop-index'; id: number; index: string }
  | { type: 'embed'; id: number; key: string; texts: string[]; search?: SearchSpec }
  | { type: 'search'; id: number; vectors: Float32Array; search: SearchSpec };

/**
 * Nearest rows of several queries, `count` per query, concatenated. A query
 * may get fewer when the index is smaller: `count` is then the actual size.
 */
export interface FoundRows {
  count: number;
  rows: Int32Array;
  sims: Float32Array;
}

/** Worker → main thread: one answer per request, plus log lines. */
export type WorkerReply =
  | { type: 'done'; id: number }
  | { type: 'embedded'; id: number; dim: number; data: Float32Array; found?: FoundRows }
  | { type: 'searched'; id: number; found: FoundRows }
  | {
      type: 'failed';
      id: number;
      code: LoadFailureCode | 'INTENTS_WORKER_FAILED';
      message: string;
    };

export type WorkerMessage =
  WorkerReply | { type: 'started' } | { type: 'log'; level: 'debug' | 'warn'; message: string };
