import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';

import type { EmbedRequest, EmbedWorkerConfig, WorkerInitCode, WorkerMessage } from './protocol.js';

// One inference thread of an EmbeddingNlu. It is the only place that imports
// @xenova/transformers, so the main thread never pays for loading it and
// inference never blocks the host's event loop.

if (parentPort === null) throw new Error('embed-worker runs only as a worker thread');
const port: MessagePort = parentPort;

const config = workerData as EmbedWorkerConfig;
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

/** Sorts a load failure into an error code, from what transformers says. */
function initCode(message: string): WorkerInitCode {
  if (/could not locate file|not found locally|allowRemoteModels=false/i.test(message)) {
    return 'INTENTS_MODEL_NOT_FOUND';
  }
  if (/fetch failed|occurred while trying to load file|access to file|ECONN|ENOTFOUND/i.test(message)) {
    return 'INTENTS_REMOTE_FAILED';
  }

  return 'INTENTS_MODEL_INVALID';
}

type Extractor = (
  texts: string[],
  options: { pooling: 'mean'; normalize: boolean },
) => Promise<{ data: Float32Array; dims: number[] }>;

async function load(): Promise<Extractor> {
  const { env, pipeline } = await import('@xenova/transformers');

  env.allowLocalModels = true;
  env.localModelPath = config.localModelPath;
  env.allowRemoteModels = config.allowRemoteModels;
  env.useBrowserCache = false;
  env.useFSCache = true;
  env.cacheDir = config.cacheDir;
  if (config.remoteHost !== undefined) env.remoteHost = config.remoteHost;

  const extractor = await pipeline('feature-extraction', config.model, {
    quantized: config.quantized,
  });

  return extractor as unknown as Extractor;
}

async function main(): Promise<void> {
  let extract: Extractor;

  try {
    extract = await load();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    post({ type: 'init-failed', code: initCode(message), message });

    return;
  }

  port.on('message', (request: EmbedRequest) => {
    extract(request.texts, { pooling: 'mean', normalize: true }).then(
      (output) => {
        const data = Float32Array.from(output.data);
        const dim = output.dims[output.dims.length - 1] ?? 0;
        post({ type: 'embedded', id: request.id, dim, data }, [data.buffer]);
      },
      (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        post({ type: 'failed', id: request.id, message });
      },
    );
  });
  post({ type: 'ready' });
}

void main();
