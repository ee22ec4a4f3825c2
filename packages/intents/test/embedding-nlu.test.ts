import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Logger } from '@kefu/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EmbeddingNlu } from '../src/embedding/embedding-nlu.js';
import type { EmbeddingNluOptions } from '../src/embedding/embedding-nlu.js';
import { TINY_TOPICS, writeTinyModel } from './fixtures/tiny-model.js';

const MODEL = 'kefu-test/tiny-bert';

const TRAINING = [
  { text: 'where is my package', intent: 'track_order' },
  { text: 'track my parcel please', intent: 'track_order' },
  { text: 'has my order shipped', intent: 'track_order' },
  { text: 'I want a refund', intent: 'refund' },
  { text: 'give me my money back', intent: 'refund' },
  { text: 'how do I return it and get reimbursed', intent: 'refund' },
  { text: 'hello there', intent: 'greet' },
  { text: 'hi, good morning', intent: 'greet' },
  { text: '我要退款', intent: 'zh_refund' },
  { text: '把钱还我', intent: 'zh_refund' },
  { text: '我的快递到哪了', intent: 'zh_track' },
  { text: '物流到哪里了', intent: 'zh_track' },
];

let root: string;
let models: string;
let origin: Server;
let originUrl: string;
/** Paths the model "hub" served; `status` decides what it answers. */
const hits: string[] = [];
let status = 200;

/** Records one log line per call, for the tests that read what happened. */
function recordingLogger(lines: { fields: Record<string, unknown>; message: string }[]): Logger {
  const log = (fields: unknown, message?: unknown): void => {
    lines.push({ fields: fields as Record<string, unknown>, message: String(message) });
  };
  const logger: Logger = { debug: log, info: log, warn: log, error: log, child: () => logger };

  return logger;
}

function nlu(options: EmbeddingNluOptions = {}): EmbeddingNlu {
  return new EmbeddingNlu({
    model: MODEL,
    localModelPath: models,
    threshold: 0.45,
    k: 3,
    ...options,
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kefu-embedding-'));
  models = join(root, 'models');
  await writeTinyModel(models, { model: MODEL });

  // A stand-in for the Hugging Face hub: `/<org>/<name>/resolve/main/<file>`.
  origin = createServer((req, res) => {
    const path = decodeURIComponent(req.url ?? '');
    hits.push(path);
    const match = /^\/(.+?)\/resolve\/main\/(.+)$/.exec(path);
    if (status !== 200 || match === null) {
      res.writeHead(status === 200 ? 404 : status).end();
      return;
    }
    readFile(join(models, match[1] ?? '', match[2] ?? '')).then(
      (bytes) => res.writeHead(200).end(bytes),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  origin.closeAllConnections();
  await new Promise((resolve) => origin.close(resolve));
  await rm(root, { recursive: true, force: true });
});

describe('EmbeddingNlu', () => {
  describe('with the tiny model on disk', () => {
    let knn: EmbeddingNlu;

    beforeAll(async () => {
      knn = nlu({ workers: 2, batchSize: 4 });
      await knn.train(TRAINING);
    });
    afterAll(() => knn.close());

    it.each([
      ['when will my shipping arrive', 'track_order'],
      ['tracking for my parcel', 'track_order'],
      ['refund my money please', 'refund'],
      ['hey, good evening', 'greet'],
      ['退钱', 'zh_refund'],
      ['快递在哪', 'zh_track'],
    ])('gives "%s" the intent of similar examples (%s)', async (text, intent) => {
      const scores = await knn.classify(text);

      expect(scores[0]?.intent).toBe(intent);
      expect(scores[0]?.score).toBeGreaterThan(0.5);
    });

    it('ranks best first with scores in [0, 1]', async () => {
      const scores = await knn.classify('package refund hello');

      expect(scores.length).toBeGreaterThan(1);
      for (const { score } of scores) expect(score).toBeGreaterThanOrEqual(0);
      for (const { score } of scores) expect(score).toBeLessThanOrEqual(1);
      expect(scores.map((s) => s.score)).toEqual(
        [...scores.map((s) => s.score)].sort((a, b) => b - a),
      );
    });

    it('puts oos on top for text far from every example', async () => {
      const scores = await knn.classify('xylophone quasar zebra');

      expect(scores[0]?.intent).toBe('oos');
    });

    it('classifies a very long text by its beginning', async () => {
      const long = `track my parcel ${'where is my package '.repeat(5_000)}`;

      expect((await knn.classify(long))[0]?.intent).toBe('track_order');
    });

    it('answers an empty text with oos', async () => {
      await expect(knn.classify('  ')).resolves.toEqual([{ intent: 'oos', score: 1 }]);
    });

    it('gives concurrent calls, batched across workers, the answers of single calls', async () => {
      const texts = [
        'track my package',
        'refund',
        'hello',
        '退款',
        'where is it',
        'money back',
        'hi',
      ];
      const single = [];
      for (const text of texts) single.push(await knn.classify(`${text}!`));

      const concurrent = await Promise.all(texts.map((text) => knn.classify(`${text}!`)));

      expect(concurrent).toEqual(single);
    });

    it('rejects a text that is not a string with INTENTS_DATA_INVALID', async () => {
      await expect(knn.classify(undefined as unknown as string)).rejects.toMatchObject({
        code: 'INTENTS_DATA_INVALID',
      });
    });
  });

  it('classifies by intent centroids', async () => {
    const centroid = nlu({ classifier: 'centroid', quantized: false });
    await centroid.train(TRAINING);

    await expect(centroid.classify('track my parcel')).resolves.toContainEqual(
      expect.objectContaining({ intent: 'track_order' }),
    );
    expect((await centroid.classify('track my parcel'))[0]?.intent).toBe('track_order');
    expect((await centroid.classify('money back'))[0]?.intent).toBe('refund');
    expect((await centroid.classify('xylophone quasar'))[0]?.intent).toBe('oos');
    await centroid.close();
  });

  it.each(['knn', 'centroid'] as const)(
    'calibrates the threshold on the training data with threshold "auto" (%s)',
    async (classifier) => {
      const auto = nlu({ threshold: 'auto', classifier });
      await auto.train(TRAINING);

      expect(auto.threshold).toBeGreaterThan(0);
      expect(auto.threshold).toBeLessThan(1);
      expect((await auto.classify('track my parcel please'))[0]?.intent).toBe('track_order');
      expect((await auto.classify('退钱'))[0]?.intent).toBe('zh_refund');
      expect((await auto.classify('xylophone quasar zebra'))[0]?.intent).toBe('oos');
      await auto.close();
    },
  );

  it('fails with INTENTS_NOT_TRAINED before train()', async () => {
    await expect(nlu().classify('hello')).rejects.toMatchObject({ code: 'INTENTS_NOT_TRAINED' });
  });

  it('rejects bad training data with INTENTS_DATA_INVALID', async () => {
    await expect(nlu().train([])).rejects.toMatchObject({ code: 'INTENTS_DATA_INVALID' });
    await expect(nlu().train([{ text: 'hi', intent: '' }])).rejects.toMatchObject({
      code: 'INTENTS_DATA_INVALID',
    });
  });

  it.each([
    ['zero workers', { workers: 0 }],
    ['a model id that climbs out of the folder', { model: '../etc' }],
    ['a threshold above 1', { threshold: 1.5 }],
    ['a threshold that is neither a number nor auto', { threshold: 'high' }],
    ['an unknown classifier', { classifier: 'svm' }],
    ['an unknown option', { device: 'gpu' }],
  ])('rejects %s with INTENTS_OPTIONS_INVALID', (_, options) => {
    expect(() => new EmbeddingNlu(options as EmbeddingNluOptions)).toThrow(
      expect.objectContaining({ code: 'INTENTS_OPTIONS_INVALID' }),
    );
  });

  it('searches a large index on onnxruntime and finds the same intents', async () => {
    // 4,800 examples x 16 dimensions is past the size where the workers
    // build a search graph instead of looping in JavaScript.
    const examples = Object.entries(TINY_TOPICS).flatMap(([topic, words]) =>
      Array.from({ length: 800 }, (_, i) => ({
        text: [
          words[i % words.length],
          words[(i * 7 + 3) % words.length],
          words[(i * 13 + 5) % words.length],
        ].join(' '),
        intent: topic,
      })),
    );
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    const large = nlu({ k: 7, logger: recordingLogger(lines) });
    await large.train(examples);

    expect((await large.classify('tracking for my parcel'))[0]?.intent).toBe('track');
    expect((await large.classify('refund my money please'))[0]?.intent).toBe('refund');
    expect((await large.classify('快递在哪'))[0]?.intent).toBe('zhTrack');
    expect((await large.classify('xylophone quasar zebra'))[0]?.intent).toBe('oos');
    const said = lines
      .filter((line) => line.message === 'embedding worker says')
      .map((line) => String(line.fields.detail));
    expect(said).toContain(`search graph ready for ${examples.length} rows`);
    await large.close();
  });

  it('answers calls in flight from the old index while train() swaps in a new one', async () => {
    const provider = nlu();
    await provider.train(TRAINING);

    const texts = Array.from({ length: 40 }, (_, i) => `where is my parcel ${i}`);
    const during = Promise.all(texts.map((text) => provider.classify(text)));
    const renamed = TRAINING.map((e) => ({ ...e, intent: `new_${e.intent}` }));
    await provider.train(renamed);

    for (const scores of await during) expect(scores[0]?.intent).toMatch(/^(new_)?track_order$/);
    expect((await provider.classify('where is my parcel again'))[0]?.intent).toBe(
      'new_track_order',
    );
    await provider.close();
  });

  it('keeps serving a provider when another one on the same model closes', async () => {
    const first = nlu();
    const second = nlu({ classifier: 'centroid' });
    await Promise.all([first.train(TRAINING), second.train(TRAINING)]);

    await first.close();

    expect((await second.classify('refund my money'))[0]?.intent).toBe('refund');
    await second.close();
  });

  it('keeps the trained index after close() and starts its workers again', async () => {
    const provider = nlu();
    await provider.train(TRAINING);
    await provider.close();

    expect((await provider.classify('track my parcel'))[0]?.intent).toBe('track_order');
    await provider.close();
  });

  it('fails the calls in flight with INTENTS_WORKER_FAILED when closed', async () => {
    const provider = nlu();
    await provider.train(TRAINING);

    const pending = provider
      .classify('an uncached text about my parcel')
      .catch((err: unknown) => err);
    await new Promise((resolve) => setImmediate(resolve));
    await provider.close();

    await expect(pending).resolves.toMatchObject({ code: 'INTENTS_WORKER_FAILED' });
  });

  it('saves example embeddings under cacheDir and reads them back on the next start', async () => {
    const cacheDir = join(root, 'embedding-cache');
    const first = nlu({ cacheDir });
    await first.train(TRAINING);
    await first.close();

    const file = join(cacheDir, 'kefu-embeddings', 'kefu-test__tiny-bert.q.bin');
    expect((await stat(file)).size).toBeGreaterThan(0);

    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    const second = nlu({ cacheDir, logger: recordingLogger(lines) });
    await second.train(TRAINING);

    expect(lines).toContainEqual(
      expect.objectContaining({
        message: 'embedding cache loaded',
        fields: expect.objectContaining({ count: TRAINING.length }),
      }),
    );
    expect((await second.classify('track my parcel please'))[0]?.intent).toBe('track_order');
    await second.close();
  });

  describe('finding the model', () => {
    it('refuses a missing model with INTENTS_REMOTE_DISABLED, without any request', async () => {
      hits.length = 0;
      const provider = nlu({ model: 'kefu-test/absent', remoteHost: originUrl });

      await expect(provider.train(TRAINING)).rejects.toMatchObject({
        code: 'INTENTS_REMOTE_DISABLED',
        details: expect.objectContaining({ missing: expect.arrayContaining(['config.json']) }),
      });
      expect(hits).toEqual([]);
      await provider.close();
    });

    it('refuses a model that lacks only the requested ONNX variant', async () => {
      const partial = join(root, 'partial');
      await writeTinyModel(partial, { model: MODEL, variants: ['full'] });

      await expect(nlu({ localModelPath: partial }).train(TRAINING)).rejects.toMatchObject({
        code: 'INTENTS_REMOTE_DISABLED',
        details: expect.objectContaining({ missing: ['onnx/model_quantized.onnx'] }),
      });
    });

    it('downloads from remoteHost into cacheDir when remote models are allowed, then loads offline', async () => {
      hits.length = 0;
      status = 200;
      const cacheDir = join(root, 'downloads');
      const empty = join(root, 'empty');
      const online = nlu({
        localModelPath: empty,
        cacheDir,
        allowRemoteModels: true,
        remoteHost: originUrl,
      });

      await online.train(TRAINING);
      await online.close();

      expect(hits).toContain(`/${MODEL}/resolve/main/onnx/model_quantized.onnx`);
      await expect(
        stat(join(cacheDir, MODEL, 'onnx', 'model_quantized.onnx')),
      ).resolves.toBeTruthy();

      hits.length = 0;
      const offline = nlu({ localModelPath: empty, cacheDir, remoteHost: originUrl });
      await offline.train(TRAINING);

      expect((await offline.classify('track my parcel'))[0]?.intent).toBe('track_order');
      expect(hits).toEqual([]);
      await offline.close();
    });

    it('fails with INTENTS_MODEL_NOT_FOUND when the remote host does not have the model', async () => {
      status = 200;
      const provider = nlu({
        model: 'kefu-test/nowhere',
        allowRemoteModels: true,
        remoteHost: originUrl,
        cacheDir: join(root, 'nowhere-cache'),
      });

      await expect(provider.train(TRAINING)).rejects.toMatchObject({
        code: 'INTENTS_MODEL_NOT_FOUND',
      });
      expect(hits.some((hit) => hit.startsWith('/kefu-test/nowhere/'))).toBe(true);
      await provider.close();
    });

    it('fails with INTENTS_REMOTE_FAILED when the remote host errs', async () => {
      status = 500;
      const provider = nlu({
        model: 'kefu-test/broken-hub',
        allowRemoteModels: true,
        remoteHost: originUrl,
        cacheDir: join(root, 'broken-cache'),
      });

      await expect(provider.train(TRAINING)).rejects.toMatchObject({
        code: 'INTENTS_REMOTE_FAILED',
      });
      status = 200;
      await provider.close();
    });

    it('fails with INTENTS_MODEL_INVALID when the ONNX file is damaged', async () => {
      const damaged = join(root, 'damaged');
      await writeTinyModel(damaged, { model: MODEL });
      await writeFile(
        join(damaged, MODEL, 'onnx', 'model_quantized.onnx'),
        'not a protobuf at all',
      );
      const provider = nlu({ localModelPath: damaged });

      await expect(provider.train(TRAINING)).rejects.toMatchObject({
        code: 'INTENTS_MODEL_INVALID',
      });
      await provider.close();
    });
  });
});
