import { parentPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';

import type { LoadFailureCode, ModelConfig, WorkerMessage, WorkerRequest } from './protocol.js';

// One inference thread. It is the only place that imports
// @xenova/transformers, so the main thread never pays for loading it and
// inference never blocks the host's event loop. It serves every model the
// main thread asks for, each under its own key.

if (parentPort === null) throw new Error('embed-worker runs only as a worker thread');
const port: MessagePort = parentPort;

const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []): void => {
  port.postMessage(message, transfer);
};

// The transformers library writes warnings to the console (a missing local
// file, a fallback backend). Forward them to the host's logger instead.
const forward =
  (level: 'debug' | 'warn') =>
  (...args: unknown[]): void =>
    post({ type: 'log', level, message: args.map(String).join(' ') });
console.log = forward('debug');
console.info = forward('debug');
console.debug = forward('debug');
console.warn = forward('warn');
console.error = forward('warn');

interface Extractor {
  (texts: string[], options: { pooling: 'mean'; normalize: boolean }): Promise<{
    data: Float32Array;
    dims: number[];
  }>;
  dispose(): Promise<void>;
}

interface Loaded {
  extractor: Promise<Extractor>;
  inFlight: Set<Promise<unknown>>;
}

const models = new Map<string, Loaded>();
let transformers: Promise<typeof import('@xenova/transformers')> | undefined;
/** Loads run one at a time: the library's settings (`env`) are global. */
let loading: Promise<unknown> = Promise.resolve();

/** Sorts a load failure into an error code, from what the library says. */
function loadFailureCode(message: string): LoadFailureCode {
  if (/could not locate file|not found locally|allowRemoteModels=false/i.test(message)) {
    return 'INTENTS_MODEL_NOT_FOUND';
  }
  if (/fetch failed|occurred while trying to load file|access to file|ECONN|ENOTFOUND/i.test(message)) {
    return 'INTENTS_REMOTE_FAILED';
  }

  return 'INTENTS_MODEL_INVALID';
}

async function load(config: ModelConfig): Promise<Extractor> {
  transformers ??= import('@xenova/transformers');
  const { env, pipeline } = await transformers;

  env.allowLocalModels = true;
  env.localModelPath = config.localModelPath;
  env.allowRemoteModels = config.allowRemoteModels;
  env.useBrowserCache = false;
  env.useFSCache = true;
  env.cacheDir = config.cacheDir;
  env.remoteHost = config.remoteHost ?? 'https://huggingface.co/';

  const extractor = await pipeline('feature-extraction', config.model, { quantized: config.quantized });

  return extractor as unknown as Extractor;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function handle(request: WorkerRequest): Promise<void> {
  switch (request.type) {
    case 'load': {
      let loaded = models.get(request.key);
      if (loaded === undefined) {
        const extractor = loading.then(() => load(request.config));
        loading = extractor.catch(() => {});
        loaded = { extractor, inFlight: new Set() };
        models.set(request.key, loaded);
      }
      try {
        await loaded.extractor;
        post({ type: 'done', id: request.id });
      } catch (err) {
        // Forget a failed load, so that a later attempt starts afresh.
        if (models.get(request.key) === loaded) models.delete(request.key);
        const message = errorMessage(err);
        post({ type: 'failed', id: request.id, code: loadFailureCode(message), message });
      }
      break;
    }
    case 'embed': {
      const loaded = models.get(request.key);
      if (loaded === undefined) {
        post({ type: 'failed', id: request.id, code: 'INTENTS_WORKER_FAILED', message: 'model not loaded' });
        break;
      }
      const run = loaded.extractor.then((extract) =>
        extract(request.texts, { pooling: 'mean', normalize: true }),
      );
      loaded.inFlight.add(run);
      try {
        const output = await run;
        const data = Float32Array.from(output.data);
        const dim = output.dims[output.dims.length - 1] ?? 0;
        post({ type: 'embedded', id: request.id, dim, data }, [data.buffer]);
      } catch (err) {
        post({ type: 'failed', id: request.id, code: 'INTENTS_WORKER_FAILED', message: errorMessage(err) });
      } finally {
        loaded.inFlight.delete(run);
      }
      break;
    }
    case 'unload': {
      const loaded = models.get(request.key);
      models.delete(request.key);
      if (loaded !== undefined) {
        await Promise.allSettled(loaded.inFlight);
        await loaded.extractor.then((extract) => extract.dispose()).catch(() => {});
      }
      post({ type: 'done', id: request.id });
      break;
    }
  }
}

port.on('message', (request: WorkerRequest) => void handle(request));
post({ type: 'started' });
