import { describe, expect, it } from 'vitest';

import { Featurizer, type FeatureConfig } from './features.js';

const config: FeatureConfig = { dim: 4096, charMin: 3, charMax: 5, hanMin: 1, hanMax: 3, wordWeight: 3 };

const norm = (val: Float32Array): number => Math.sqrt(val.reduce((s, v) => s + v * v, 0));

describe('Featurizer', () => {
  it('makes unit-length vectors with each bucket once', () => {
    const f = new Featurizer(config);
    const x = f.vectorize('Where is my order? My order is late');

    expect(norm(x.val)).toBeCloseTo(1, 5);
    expect(new Set(x.idx).size).toBe(x.idx.length);
  });

  it('gives the same vector for the same text, case and width aside', () => {
    const f = new Featurizer(config);

    expect(f.vectorize('ＯＲＤＥＲ status')).toEqual(f.vectorize('order status'));
  });

  it('makes features from Han runs', () => {
    const f = new Featurizer(config);

    expect(f.vectorize('我要退款').idx.length).toBeGreaterThan(4);
  });

  it('yields an empty vector for text without words', () => {
    expect(new Featurizer(config).vectorize('?! ...').idx.length).toBe(0);
  });

  it('reports how much of a text was seen in training', () => {
    const f = new Featurizer(config);
    f.fitIdf([f.extract('where is my order'), f.extract('cancel my order')]);

    expect(f.vectorize('where is my order').known).toBeCloseTo(1, 5);
    expect(f.vectorize('qwzx vbnm').known).toBeLessThan(0.2);
  });

  it('weighs extracted counts as vectorize() does', () => {
    const f = new Featurizer(config);
    const text = 'refund my refund please';

    expect(f.weigh(f.extract(text))).toEqual(f.vectorize(text));
  });
});
