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
  | 'INTENTS_REMOTE_FAILED';

/**
 * Main thread → worker. `key` names a loaded model: one worker serves every
 * provider that shares it.
 */
export type WorkerRequest =
  | { type: 'load'; id: number; key: string; config: ModelConfig }
  | { type: 'embed'; id: number; key: string; texts: string[] }
  | { type: 'unload'; id: number; key: string };

/** Worker → main thread: one answer per request, plus log lines. */
export type WorkerReply =
  | { type: 'done'; id: number }
  | { type: 'embedded'; id: number; dim: number; data: Float32Array }
  | { type: 'failed'; id: number; code: LoadFailureCode | 'INTENTS_WORKER_FAILED'; message: string };

export type WorkerMessage =
  | WorkerReply
  | { type: 'started' }
  | { type: 'log'; level: 'debug' | 'warn'; message: string };
