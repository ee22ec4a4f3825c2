import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerOptions } from 'node:worker_threads';

/**
 * Where tsx's registration API lives, found from this file. Only needed
 * when the sources run as TypeScript (in this repository); the built
 * package never asks.
 */
function tsxApiUrl(): string {
  const resolveUrl = (import.meta as { resolve?: (specifier: string) => string }).resolve;
  if (typeof resolveUrl === 'function') return resolveUrl('tsx/esm/api');

  // `require.resolve` picks the CommonJS build; the ESM one sits beside it.
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');

  return pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
}

/**
 * Starts a worker thread on `url`. A `.ts` file is started through a small
 * bootstrap that registers tsx in the new thread first: on Node.js 20 a
 * worker does not run the parent's `--import` hooks, so it could not load
 * TypeScript otherwise.
 */
export function spawnWorker(url: URL, options: WorkerOptions = {}): Worker {
  if (extname(fileURLToPath(url)) !== '.ts') return new Worker(url, options);

  const bootstrap = [
    `import(${JSON.stringify(tsxApiUrl())})`,
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`,
  ].join('');

  return new Worker(bootstrap, { ...options, eval: true });
}
