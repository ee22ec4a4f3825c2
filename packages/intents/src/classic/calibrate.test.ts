import { describe, expect, it } from 'vitest';

import { assignFolds, fitTemperature, thresholdForRejectRate } from './calibrate.js';

describe('assignFolds()', () => {
  it('holds out every example of a label but one, spread over the folds', () => {
    const ys = Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 2]);
    const folds = assignFolds(ys, 3, 5, 1);

    expect([...folds].filter((f, i) => ys[i] === 0 && f === -1)).toHaveLength(1);
    expect([...folds].filter((f, i) => ys[i] === 1 && f === -1)).toHaveLength(1);
    expect(folds[8]).toBe(-1);
    for (const f of folds) expect(f).toBeLessThan(5);
  });
});

describe('fitTemperature()', () => {
  it('softens overconfident logits and sharpens timid ones', async () => {
    // Right 3 times out of 4 with a margin of 10: the best temperature is above 1.
    const sure = Float32Array.from([10, 0, 10, 0, 10, 0, 0, 10]);
    const ys = Int32Array.from([0, 0, 0, 0]);
    expect(await fitTemperature(sure, ys, 2)).toBeGreaterThan(1);

    // Always right with a margin of 0.5: the best temperature is below 1.
    const timid = Float32Array.from([0.5, 0, 0.5, 0, 0.5, 0]);
    expect(await fitTemperature(timid, Int32Array.from([0, 0, 0]), 2)).toBeLessThan(1);
  });
});

describe('thresholdForRejectRate()', () => {
  it('puts the threshold where the wanted share of examples falls below it', () => {
    const accept = Float64Array.from({ length: 1000 }, (_, i) => (i + 1) / 1000);

    expect(thresholdForRejectRate(accept, 0.01)).toBeCloseTo(0.011);
  });

  it('gives 0 when fewer than two examples would fall below', () => {
    const accept = Float64Array.from({ length: 150 }, (_, i) => (i + 1) / 150);

    expect(thresholdForRejectRate(accept, 0.01)).toBe(0);
  });

  it('gives 0 when the oos class already takes the wanted share', () => {
    const accept = Float64Array.from({ length: 400 }, (_, i) => (i < 10 ? 0 : 0.9));

    expect(thresholdForRejectRate(accept, 0.01)).toBe(0);
  });
});
