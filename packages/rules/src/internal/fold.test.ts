import { describe, expect, it } from 'vitest';
import { foldForMatch, foldTerm, foldWidth } from './fold.js';

describe('foldWidth()', () => {
  it('folds full-width forms and keeps the length', () => {
    const text = 'ＳＦ１２３，订单';

    expect(foldWidth(text)).toBe('SF123,订单');
    expect(foldWidth(text)).toHaveLength(text.length);
  });

  it('leaves a character whose NFKC form is longer', () => {
    expect(foldWidth('㈱ok')).toBe('㈱ok');
  });
});

describe('foldTerm()', () => {
  it('lower-cases, collapses spaces and drops those next to CJK characters', () => {
    expect(foldTerm('  iPhone   坏了 ')).toBe('iphone坏了');
    expect(foldTerm('Money   Back')).toBe('money back');
  });
});

describe('foldForMatch()', () => {
  it('reports the offset of each unit read in the original text', () => {
    const text = 'A  b 退款';
    const codes = new Uint16Array(text.length);
    const offsets = new Int32Array(text.length);
    const n = foldForMatch(text, codes, offsets);

    expect(String.fromCharCode(...codes.subarray(0, n))).toBe('a b退款');
    expect([...offsets.subarray(0, n)]).toEqual([0, 1, 3, 5, 6]);
  });
});
