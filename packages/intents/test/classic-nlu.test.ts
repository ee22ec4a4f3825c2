import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { TrainingExample } from '@kefu/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ClassicNlu, readDataset } from '../src/index.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const GIBBERISH = ['asdkjh qwpoeiru zxmcnv', 'xyzzy plugh', 'zzzq vvvx'];

let en: TrainingExample[];
let enOos: TrainingExample[];
let zh: TrainingExample[];
let dir: string;

beforeAll(async () => {
  en = await readDataset(fixture('shop-en.jsonl'));
  enOos = await readDataset(fixture('shop-en-oos.jsonl'));
  zh = await readDataset(fixture('shop-zh.jsonl'));
  dir = await mkdtemp(join(tmpdir(), 'kefu-classic-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ClassicNlu', () => {
  describe('classify()', () => {
    it('ranks the right English intent first for unseen phrasings', async () => {
      const nlu = new ClassicNlu();
      await nlu.train(en);

      const cases = [
        ['where is my parcel right now', 'track_order'],
        ['I want a refund for my order', 'refund'],
        ['are you open on saturday', 'opening_hours'],
        ['please cancel my order', 'cancel_order'],
        ['how much does shipping cost', 'shipping_cost'],
        ['hello!', 'greeting'],
      ] as const;
      for (const [text, intent] of cases) {
        const ranked = await nlu.classify(text);
        expect(ranked[0]?.intent, text).toBe(intent);
      }
    });

    it('ranks the right Chinese intent first', async () => {
      const nlu = new ClassicNlu();
      await nlu.train(zh);

      expect((await nlu.classify('我的包裹到哪了'))[0]?.intent).toBe('查订单');
      expect((await nlu.classify('我想要退款'))[0]?.intent).toBe('退款');
      expect((await nlu.classify('你们周六几点开门'))[0]?.intent).toBe('营业时间');
      expect((await nlu.classify('订单可以取消吗'))[0]?.intent).toBe('取消订单');
    });

    it('returns scores in [0, 1], best first, at most topK of them', async () => {
      const nlu = new ClassicNlu({ topK: 3 });
      await nlu.train(en);

      const ranked = await nlu.classify('when will my order arrive');
      expect(ranked).toHaveLength(3);
      for (const r of ranked) expect(r.score).toBeGreaterThanOrEqual(0);
      for (const r of ranked) expect(r.score).toBeLessThanOrEqual(1);
      expect(ranked[0]!.score).toBeGreaterThanOrEqual(ranked[1]!.score);
    });

    it('sends gibberish to oos without any oos example', async () => {
      const nlu = new ClassicNlu();
      await nlu.train(en);

      for (const text of GIBBERISH) expect((await nlu.classify(text))[0]?.intent, text).toBe('oos');
    });

    it('sends gibberish to oos for a Chinese model', async () => {
      const nlu = new ClassicNlu();
      await nlu.train(zh);

      for (const text of [...GIBBERISH, '嗯啊哦嗯']) expect((await nlu.classify(text))[0]?.intent, text).toBe('oos');
    });

    it('learns an explicit oos class from oos examples', async () => {
      const nlu = new ClassicNlu();
      await nlu.train(enOos);

      expect(nlu.intents).toContain('oos');
      expect((await nlu.classify('what is the capital of france'))[0]?.intent).toBe('oos');
      expect((await nlu.classify('cancel my order please'))[0]?.intent).toBe('cancel_order');
    });

    it('answers oos for text without any word', async () => {
      const nlu = new ClassicNlu();
      await nlu.train(en);

      expect(await nlu.classify('?!')).toEqual([{ intent: 'oos', score: 1 }]);
    });

    it('uses a fixed threshold when one is given', async () => {
      const nlu = new ClassicNlu({ threshold: 1 });
      await nlu.train(en);

      expect((await nlu.classify('where is my order'))[0]?.intent).toBe('oos');
      expect(nlu.lastTraining?.threshold).toBe(1);
    });

    it('rejects before training with INTENTS_NOT_TRAINED', async () => {
      const nlu = new ClassicNlu();

      await expect(nlu.classify('hello')).rejects.toMatchObject({ code: 'INTENTS_NOT_TRAINED' });
      await expect(nlu.save(join(dir, 'none.kefunlu'))).rejects.toMatchObject({ code: 'INTENTS_NOT_TRAINED' });
    });

    it('rejects a text that is not a string with INTENTS_DATA_INVALID', async () => {
      const nlu = new ClassicNlu();
      await nlu.train(en);

      await expect(nlu.classify(42 as unknown as string)).rejects.toMatchObject({ code: 'INTENTS_DATA_INVALID' });
    });
  });

  describe('train()', () => {
    it('rejects malformed examples with INTENTS_DATA_INVALID', async () => {
      const nlu = new ClassicNlu();

      await expect(nlu.train([{ text: 'hi' } as TrainingExample])).rejects.toMatchObject({ code: 'INTENTS_DATA_INVALID' });
      await expect(nlu.train([{ text: 'hi', intent: ' ' }])).rejects.toMatchObject({ code: 'INTENTS_DATA_INVALID' });
      await expect(nlu.train('nope' as unknown as TrainingExample[])).rejects.toMatchObject({ code: 'INTENTS_DATA_INVALID' });
    });

    it('rejects data with no in-scope example', async () => {
      const nlu = new ClassicNlu();

      await expect(nlu.train([{ text: 'what is the weather', intent: 'oos' }])).rejects.toMatchObject({
        code: 'INTENTS_DATA_INVALID',
      });
      await expect(nlu.train([])).rejects.toMatchObject({ code: 'INTENTS_DATA_INVALID' });
    });

    it('keeps serving the previous model when a new training fails', async () => {
      const nlu = new ClassicNlu();
      await nlu.train(en);

      await expect(nlu.train([])).rejects.toMatchObject({ code: 'INTENTS_DATA_INVALID' });
      expect((await nlu.classify('cancel my order'))[0]?.intent).toBe('cancel_order');
    });

    it('answers from the previous model while a new one trains', async () => {
      const nlu = new ClassicNlu();
      await nlu.train(en);

      const training = nlu.train(zh);
      expect((await nlu.classify('please cancel my order'))[0]?.intent).toBe('cancel_order');
      await training;
      expect((await nlu.classify('我要退款'))[0]?.intent).toBe('退款');
    });

    it('serves one intent alone', async () => {
      const nlu = new ClassicNlu();
      await nlu.train([
        { text: 'where is my order', intent: 'track_order' },
        { text: 'track my parcel', intent: 'track_order' },
      ]);

      expect((await nlu.classify('track my order'))[0]).toMatchObject({ intent: 'track_order' });
      expect((await nlu.classify('asdkjh qwpoeiru'))[0]?.intent).toBe('oos');
    });

    it('learns from the words of intent names, unless intentNameExamples is 0', async () => {
      const data = [
        { text: 'how do I get my account back', intent: 'change_password' },
        { text: 'how do I get rid of my account', intent: 'delete_account' },
        { text: 'how do I close my account', intent: 'delete_account' },
      ];
      const named = new ClassicNlu();
      const plain = new ClassicNlu({ intentNameExamples: 0 });
      await named.train(data);
      await plain.train(data);

      expect((await named.classify('my password'))[0]?.intent).toBe('change_password');
      expect((await plain.classify('my password'))[0]?.intent).not.toBe('change_password');
      expect(named.intents).toEqual(['change_password', 'delete_account']);
    });

    it('trains the same model twice from the same data and seed', async () => {
      const a = new ClassicNlu();
      const b = new ClassicNlu();
      await a.train(en);
      await b.train(en);

      expect(await a.classify('is delivery free')).toEqual(await b.classify('is delivery free'));
    });

    it('averages models of several seeds, so that the seed moves the scores less', async () => {
      const probes = ['is delivery free', 'I want my money back', 'cancel it please', 'when do you close'];
      // The spread, over seeds, of each probe's score for its best intent.
      const spread = async (ensemble: number): Promise<number> => {
        const scores: number[][] = [];
        for (const seed of [1, 2, 3, 4, 5]) {
          const nlu = new ClassicNlu({ seed, ensemble, threshold: 0 });
          await nlu.train(en);
          scores.push(probes.map((t) => nlu.classifySync(t)[0]!.score));
        }
        let sum = 0;
        probes.forEach((_, i) => {
          const column = scores.map((row) => row[i]!);
          sum += Math.max(...column) - Math.min(...column);
        });

        return sum;
      };

      const single = await spread(1);
      const averaged = await spread(8);
      expect(single).toBeGreaterThan(0);
      expect(averaged).toBeLessThan(single / 2);
    });

    it('lets timers run while it trains', async () => {
      const big = Array.from({ length: 30 }, (_, k) => en.map((e) => ({ text: `${e.text} ${k}`, intent: e.intent }))).flat();
      const nlu = new ClassicNlu({ epochs: 30 });
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);

      await nlu.train(big);
      clearInterval(timer);
      expect(ticks).toBeGreaterThan(0);
    });
  });

  describe('options', () => {
    it('rejects bad options with INTENTS_OPTIONS_INVALID', () => {
      expect(() => new ClassicNlu({ dim: 1000 })).toThrow(expect.objectContaining({ code: 'INTENTS_OPTIONS_INVALID' }));
      expect(() => new ClassicNlu({ charNgrams: [5, 3] })).toThrow(
        expect.objectContaining({ code: 'INTENTS_OPTIONS_INVALID' }),
      );
      expect(() => new ClassicNlu({ intentNameExamples: -1 })).toThrow(
        expect.objectContaining({ code: 'INTENTS_OPTIONS_INVALID' }),
      );
      for (const ensemble of [0, 17, 1.5, 'many']) {
        expect(() => new ClassicNlu({ ensemble } as never)).toThrow(expect.objectContaining({ code: 'INTENTS_OPTIONS_INVALID' }));
      }
      expect(() => new ClassicNlu({ nope: 1 } as never)).toThrow(expect.objectContaining({ code: 'INTENTS_OPTIONS_INVALID' }));
    });
  });

  describe('save() and load()', () => {
    it('gives identical scores after a round trip', async () => {
      const file = join(dir, 'en.kefunlu');
      const trained = new ClassicNlu();
      await trained.train(enOos);
      await trained.save(file);

      const loaded = new ClassicNlu();
      await loaded.load(file);
      for (const text of ['where is my parcel', 'refund please', 'what is the capital of france', ...GIBBERISH]) {
        expect(await loaded.classify(text)).toEqual(await trained.classify(text));
      }
    });

    it('rejects a missing file with INTENTS_MODEL_NOT_FOUND', async () => {
      await expect(new ClassicNlu().load(join(dir, 'missing.kefunlu'))).rejects.toMatchObject({
        code: 'INTENTS_MODEL_NOT_FOUND',
      });
    });

    it('rejects a file that is not a model with INTENTS_MODEL_INVALID', async () => {
      const file = join(dir, 'junk.kefunlu');
      await writeFile(file, 'not a model at all');

      await expect(new ClassicNlu().load(file)).rejects.toMatchObject({ code: 'INTENTS_MODEL_INVALID' });
    });
  });

  describe('modelCacheDir', () => {
    it('loads the model trained earlier on the same data instead of training again', async () => {
      const cache = join(dir, 'cache');
      const first = new ClassicNlu({ modelCacheDir: cache });
      await first.train(zh);
      expect(first.lastTraining?.fromCache).toBe(false);

      const second = new ClassicNlu({ modelCacheDir: cache });
      await second.train(zh);
      expect(second.lastTraining?.fromCache).toBe(true);
      expect(await second.classify('我要退款')).toEqual(await first.classify('我要退款'));
    });

    it('trains again when the data changes', async () => {
      const cache = join(dir, 'cache-2');
      await new ClassicNlu({ modelCacheDir: cache }).train(en);

      const next = new ClassicNlu({ modelCacheDir: cache });
      await next.train([...en, { text: 'do you sell gift cards', intent: 'gift_cards' }]);
      expect(next.lastTraining?.fromCache).toBe(false);
    });

    it('trains again when an option that shapes the model changes', async () => {
      const cache = join(dir, 'cache-4');
      await new ClassicNlu({ modelCacheDir: cache }).train(en);

      const next = new ClassicNlu({ modelCacheDir: cache, intentNameExamples: 0 });
      await next.train(en);
      expect(next.lastTraining?.fromCache).toBe(false);
    });

    it('trains again over a corrupt cache file', async () => {
      const cache = join(dir, 'cache-3');
      const nlu = new ClassicNlu({ modelCacheDir: cache });
      await nlu.train(en);
      const { readdir } = await import('node:fs/promises');
      const [name] = await readdir(cache);
      await writeFile(join(cache, name!), 'garbage');

      const again = new ClassicNlu({ modelCacheDir: cache });
      await again.train(en);
      expect(again.lastTraining?.fromCache).toBe(false);
      expect((await again.classify('cancel my order'))[0]?.intent).toBe('cancel_order');
    });
  });
});
