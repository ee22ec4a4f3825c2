import { describe, expect, it } from 'vitest';

import { ensembleSize } from './classic-nlu.js';

describe('ensembleSize', () => {
  it('keeps a number as given', () => {
    expect(ensembleSize(1, 50)).toBe(1);
    expect(ensembleSize(7, 100_000)).toBe(7);
  });

  it("averages more models the smaller the set with 'auto', from 10 down to 2", () => {
    expect(ensembleSize('auto', 0)).toBe(10);
    expect(ensembleSize('auto', 200)).toBe(10);
    expect(ensembleSize('auto', 1_000)).toBe(10);
    expect(ensembleSize('auto', 2_500)).toBe(4);
    expect(ensembleSize('auto', 3_400)).toBe(2);
    expect(ensembleSize('auto', 4_100)).toBe(2);
    expect(ensembleSize('auto', 9_999)).toBe(2);
    expect(ensembleSize('auto', 15_400)).toBe(2);
  });
});
