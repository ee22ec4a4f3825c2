import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';

import { nearest } from './classifier.js';
import { explainLoadFailure, loadFailureCode } from './load-failure.js';
import { searchGraph } from './search-graph.js';
import type {
  FoundRows,
  ModelConfig,
  SearchSpec,
  WorkerMessage,
  WorkerRequest,
} from './protocol.js';

// One inference thread. It is the only place that imports
// @xenova/transformers, so the main thread never pays for loading it and
// inference never blocks the host's event loop. It serves every model the
// main thread asks for, each under its own key.

if (parentPort === null) throw new Error('embed-worker runs only as a worker thread');
const port: MessagePort = parentPort;

// Every buffer handed over here was created by this thread (never shared).
const post = (message: WorkerMessage, transfer: ArrayBufferLike[] = []): void => {
  port.postMessage(message, transfer as ArrayBuffer[]);
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
  (
    texts: string[],
    options: { pooling: 'mean'; normalize: boolean },
  ): Promise<{
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

/** What onnxruntime-node offers that the search needs. */
interface Runtime {
  InferenceSession: { create(model: Uint8Array, options: object): Promise<Session> };
  Tensor: new (type: string, data: Float32Array | BigInt64Array, dims: number[]) => unknown;
}

interface Session {
  run(
    feeds: Record<string, unknown>,
  ): Promise<Record<string, { data: Float32Array | BigInt64Array; dims: number[] }>>;
}

interface Index {
  vectors: Float32Array;
  dim: number;
  /** The search graph's session, for indexes worth one; else the JS loop searches. */
  session: Promise<Session | undefined>;
}

const indexes = new Map<string, Index>();

/**
 * Under this many values (rows × dim) the JavaScript loop is about as fast
 * as a call into onnxruntime, so small indexes skip building a session.
 */
const SESSION_MIN_VALUES = 65_536;

/** onnxruntime-node, as the transformers library resolves it. */
function runtime(): Runtime {
  const fromHere = createRequire(import.meta.url);

  return createRequire(fromHere.resolve('@xenova/transformers'))('onnxruntime-node') as Runtime;
}

async function searchSession(vectors: Float32Array, dim: number): Promise<Session | undefined> {
  if (vectors.length < SESSION_MIN_VALUES) return undefined;

  try {
    // One thread per search: the pool's threads already share the cores.
    const session = await runtime().InferenceSession.create(searchGraph(vectors, dim), {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
    });
    post({
      type: 'log',
      level: 'debug',
      message: `search graph ready for ${vectors.length / dim} rows`,
    });

    return session;
  } catch (err) {
    post({
      type: 'log',
      level: 'warn',
      message: `search graph failed, searching in JavaScript: ${errorMessage(err)}`,
    });

    return undefined;
  }
}
let transformers: Promise<typeof import('@xenova/transformers')> | undefined;
/** Loads run one at a time: the library's settings (`env`) are global. */
let loading: Promise<unknown> = Promise.resolve();

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

  const extractor = await pipeline('feature-extraction', config.model, {
    quantized: config.quantized,
  });

  return extractor as unknown as Extractor;
}

/** Searches each of the `queries` (rows of `dim` values) in one index. */
async function search(index: Index, queries: Float32Array, count: number): Promise<FoundRows> {
  const { vectors, dim } = index;
  const total = Math.min(count, dim === 0 ? 0 : vectors.length / dim);
  const n = dim === 0 ? 0 : queries.length / dim;
  const session = await index.session;

  if (session !== undefined && n > 0 && total > 0) {
    const { Tensor } = runtime();
    const out = await session.run({
      queries: new Tensor('float32', queries, [n, dim]),
      k: new Tensor('int64', BigInt64Array.of(BigInt(total)), [1]),
    });
    const indices = out.indices?.data as BigInt64Array;

    return {
      count: total,
      rows: Int32Array.from(indices, Number),
      sims: Float32Array.from(out.values?.data as Float32Array),
    };
  }

  const rows = new Int32Array(n * total);
  const sims = new Float32Array(n * total);
  for (let q = 0; q < n; q++) {
    const found = nearest(vectors, dim, queries.subarray(q * dim, (q + 1) * dim), total);
    rows.set(found.rows, q * total);
    sims.set(found.sims, q * total);
  }

  return { count: total, rows, sims };
}

/** The index a request names, looked up when the request arrives. */
function indexFor(spec: SearchSpec | undefined): Index | undefined {
  return spec === undefined ? undefined : indexes.get(spec.index);
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
        post({ type: 'failed', id: request.id, code: loadFailureCode(message), message: explainLoadFailure(message) });
      }
      break;
    }
    case 'embed': {
      const loaded = models.get(request.key);
      if (loaded === undefined) {
        post({
          type: 'failed',
          id: request.id,
          code: 'INTENTS_WORKER_FAILED',
          message: 'model not loaded',
        });
        break;
      }
      // Taken now, before any await: a later `index` message must not
      // change what this request, sent before it, searches.
      const index = indexFor(request.search);
      if (request.search !== undefined && index === undefined) {
        post({
          type: 'failed',
          id: request.id,
          code: 'INTENTS_WORKER_FAILED',
          message: 'unknown index',
        });
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
        const found =
          index === undefined ? undefined : await search(index, data, request.search?.count ?? 0);
        const transfer = [
          data.buffer,
          ...(found === undefined ? [] : [found.rows.buffer, found.sims.buffer]),
        ];
        post(
          {
            type: 'embedded',
            id: request.id,
            dim,
            data,
            ...(found === undefined ? {} : { found }),
          },
          transfer,
        );
      } catch (err) {
        post({
          type: 'failed',
          id: request.id,
          code: 'INTENTS_WORKER_FAILED',
          message: errorMessage(err),
        });
      } finally {
        loaded.inFlight.delete(run);
      }
      break;
    }
    case 'search': {
      const index = indexFor(request.search);
      if (index === undefined) {
        post({
          type: 'failed',
          id: request.id,
          code: 'INTENTS_WORKER_FAILED',
          message: 'unknown index',
        });
        break;
      }
      try {
        const found = await search(index, request.vectors, request.search.count);
        post({ type: 'searched', id: request.id, found }, [found.rows.buffer, found.sims.buffer]);
      } catch (err) {
        post({
          type: 'failed',
          id: request.id,
          code: 'INTENTS_WORKER_FAILED',
          message: errorMessage(err),
        });
      }
      break;
    }
    case 'index': {
      const index: Index = {
        vectors: request.vectors,
        dim: request.dim,
        session: searchSession(request.vectors, request.dim),
      };
      indexes.set(request.index, index);
      await index.session;
      post({ type: 'done', id: request.id });
      break;
    }
    case 'drop-index':
      indexes.delete(request.index);
      post({ type: 'done', id: request.id });
      break;
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
