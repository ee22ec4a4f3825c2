import { describe, expect, it } from 'vitest';
import { FuzzyIndex, isWithin, maxEdits } from './fuzzy-index.js';

function indexOf(...terms: string[]): FuzzyIndex {
  const index = new FuzzyIndex();
  for (const t of terms) index.add(t, maxEdits(t.length));
  return index;
}

describe('FuzzyIndex', () => {
  it('finds a term one transposition away', () => {
    const index = indexOf('refund', 'delivery');

    expect(index.lookup('refnud')).toEqual([{ term: 0, distance: 1 }]);
  });

  it('allows two edits to terms of eight letters or more', () => {
    const index = indexOf('delivery');

    expect(index.lookup('dleivry')).toEqual([{ term: 0, distance: 2 }]);
  });

  it('allows only one edit to shorter terms', () => {
    const index = indexOf('refund');

    expect(index.lookup('rfnd')).toEqual([]);
    expect(index.lookup('refunded')).toEqual([]);
  });

  it('returns closer terms first', () => {
    const index = indexOf('invoices', 'invoiced');

    expect(index.lookup('invoiced').map((h) => index.term(h.term))).toEqual([
      'invoiced',
      'invoices',
    ]);
  });
});

describe('isWithin()', () => {
  it('bounds the optimal-string-alignment distance', () => {
    expect(isWithin('refnud', 'refund', 1)).toBe(true);
    expect(isWithin('rfnud', 'refund', 1)).toBe(false);
    expect(isWithin('rfnud', 'refund', 2)).toBe(true);
    expect(isWithin('delivery', 'delivery', 0)).toBe(true);
    expect(isWithin('abcdefgh', 'hgfedcba', 2)).toBe(false);
  });
});
