/**
 * Messages between {@link WorkerPool} and `embed-worker`. Kept free of
 * runtime imports so that the worker loads nothing but the transformers
 * library.
 */

/** What a worker needs to load its model, passed as `workerData`. */
export interface EmbedWorkerConfig {
  model: string;
  localModelPath: string;
  cacheDir: string;
  allowRemoteModels: boolean;
  remoteHost: string | undefined;
  quantized: boolean;
}

/** The codes a worker may report for a failed start. */
export type WorkerInitCode =
  | 'INTENTS_MODEL_NOT_FOUND'
  | 'INTENTS_MODEL_INVALID'
  | 'INTENTS_REMOTE_FAILED';

/** Main thread → worker. */
export interface EmbedRequest {
  type: 'embed';
  id: number;
  texts: string[];
}

/** Worker → main thread. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'init-failed'; code: WorkerInitCode; message: string }
  | { type: 'embedded'; id: number; dim: number; data: Float32Array }
  | { type: 'failed'; id: number; message: string }
  | { type: 'log'; level: 'debug' | 'warn'; message: string };
