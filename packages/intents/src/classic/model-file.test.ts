import { describe, expect, it } from 'vitest';

import { decodeModel, encodeModel, quantize, type ClassicModel } from './model-file.js';

function sampleModel(): ClassicModel {
  const dim = 1024;
  const classes = 3;
  const weights = Float32Array.from({ length: dim * classes }, (_, i) => Math.sin(i) * 0.5);
  const q = quantize(weights, dim, classes);

  return {
    hash: 'abc',
    labels: ['a', 'b', 'oos'],
    oosIndex: 2,
    features: { dim, charMin: 3, charMax: 5, hanMin: 1, hanMax: 3, wordWeight: 3 },
    temperature: 0.7,
    threshold: 0.123456789,
    unseenIdf: 4.5,
    idf: Float32Array.from({ length: dim }, (_, i) => 1 + (i % 7)),
    bias: Float32Array.of(0.1, -0.2, 0.3),
    scales: q.scales,
    quantized: q.quantized,
  };
}

describe('model file', () => {
  it('decodes what it encodes, bit for bit', () => {
    const model = sampleModel();

    expect(decodeModel(encodeModel(model))).toEqual(model);
  });

  it('quantises each weight to within half a step of its row scale', () => {
    const weights = Float32Array.of(0.5, -1, 0.25, 0, 0, 0);
    const q = quantize(weights, 2, 3);

    for (let p = 0; p < 3; p++) {
      expect(Math.abs(q.quantized[p]! * q.scales[0]! - weights[p]!)).toBeLessThanOrEqual(q.scales[0]! / 2 + 1e-7);
    }
    expect(q.scales[1]).toBe(0);
  });

  it('rejects foreign, truncated and inconsistent bytes with INTENTS_MODEL_INVALID', () => {
    const good = encodeModel(sampleModel());

    expect(() => decodeModel(Buffer.from('hello world, not a model'))).toThrow(
      expect.objectContaining({ code: 'INTENTS_MODEL_INVALID' }),
    );
    expect(() => decodeModel(good.subarray(0, good.length - 1))).toThrow(
      expect.objectContaining({ code: 'INTENTS_MODEL_INVALID' }),
    );
    const badJson = Buffer.from(good);
    badJson.write('!', 12, 'latin1');
    expect(() => decodeModel(badJson)).toThrow(expect.objectContaining({ code: 'INTENTS_MODEL_INVALID' }));
  });
});
