import { describe, expect, it } from 'vitest';

import { calibrationSample, leaveOneOutCentroid, lowQuantile } from './calibrate.js';

const unit = (x: number, y: number): Float32Array => {
  const norm = Math.hypot(x, y);

  return Float32Array.of(x / norm, y / norm);
};

describe('calibrationSample()', () => {
  it('leaves out oos examples and spreads at most 500 rows over the rest', () => {
    const examples = Array.from({ length: 2_000 }, (_, i) => ({
      text: `t${i}`,
      intent: i % 4 === 0 ? 'oos' : 'a',
    }));
    const sample = calibrationSample(examples);

    expect(sample).toHaveLength(500);
    expect(sample.every((row) => examples[row]?.intent === 'a')).toBe(true);
    expect(sample.at(-1)).toBeGreaterThan(1_900);
  });
});

describe('leaveOneOutCentroid()', () => {
  it('compares each row with the mean of the other examples of its intent', () => {
    const vectors = [unit(1, 0), unit(0, 1), unit(1, 1), unit(-1, 0)];
    const examples = ['a', 'a', 'a', 'b'].map((intent, i) => ({ text: `t${i}`, intent }));

    const sims = leaveOneOutCentroid(vectors, examples, [0, 3]);

    // Row 0 against normalize((0,1) + (1,1)/√2); row 3 is alone in its intent.
    const rest = unit(Math.SQRT1_2, 1 + Math.SQRT1_2);
    expect(sims).toHaveLength(1);
    expect(sims[0]).toBeCloseTo(rest[0] ?? 0, 5);
  });
});

describe('lowQuantile()', () => {
  it('returns the 5th percentile, or undefined for no values', () => {
    expect(lowQuantile(Array.from({ length: 100 }, (_, i) => (100 - i) / 100))).toBeCloseTo(0.06);
    expect(lowQuantile([])).toBeUndefined();
  });
});
