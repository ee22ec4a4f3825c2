import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { InferenceThread, acquireThreads } from './inference-thread.js';

/** A stand-in worker: answers each request by running `reply` on it. */
function fakeWorker(reply: string): Worker {
  const source = `
    const { parentPort } = require('node:worker_threads');
    parentPort.on('message', (request) => { ${reply} });
  `;

  return new Worker(source, { eval: true });
}

describe('InferenceThread', () => {
  it('resolves each request with its own answer', async () => {
    const thread = new InferenceThread(
      fakeWorker("parentPort.postMessage({ type: 'done', id: request.id })"),
      () => {},
    );

    const replies = await Promise.all([
      thread.request({ type: 'drop-index', index: 'a' }),
      thread.request({ type: 'drop-index', index: 'b' }),
    ]);

    expect(replies).toEqual([
      { type: 'done', id: 0 },
      { type: 'done', id: 1 },
    ]);
    expect(thread.load).toBe(0);
  });

  it('rejects with the code of a failed answer', async () => {
    const thread = new InferenceThread(
      fakeWorker(
        "parentPort.postMessage({ type: 'failed', id: request.id, code: 'INTENTS_MODEL_INVALID', message: 'bad' })",
      ),
      () => {},
    );

    await expect(thread.request({ type: 'unload', key: 'k' })).rejects.toMatchObject({
      code: 'INTENTS_MODEL_INVALID',
    });
  });

  it('fails its requests with INTENTS_WORKER_FAILED when the thread dies, and is replaced', async () => {
    const [crashing] = acquireThreads(1, () => fakeWorker('process.exit(3)'));

    await expect(crashing?.request({ type: 'unload', key: 'k' })).rejects.toMatchObject({
      code: 'INTENTS_WORKER_FAILED',
    });
    expect(crashing?.isDead).toBe(true);
    await expect(crashing?.request({ type: 'unload', key: 'k' })).rejects.toMatchObject({
      code: 'INTENTS_WORKER_FAILED',
    });

    const [replacement] = acquireThreads(1, () =>
      fakeWorker("parentPort.postMessage({ type: 'done', id: request.id })"),
    );
    expect(replacement).not.toBe(crashing);
    await expect(replacement?.request({ type: 'unload', key: 'k' })).resolves.toMatchObject({
      type: 'done',
    });
  });
});
