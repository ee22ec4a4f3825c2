import { describe, expect, it } from 'vitest';
import { normalizeText, tokenize } from './text.js';

describe('normalizeText()', () => {
  it('folds full-width forms and case, drops emoji, keeps digits', () => {
    expect(normalizeText('  ＲＥＦＵＮＤ　订单１２３ 😀 ')).toBe('refund 订单123');
  });
});

describe('tokenize()', () => {
  it('splits mixed Chinese and English text with offsets into the original', () => {
    const text = '我要查订单 order 12345';
    const tokens = tokenize(text);

    expect(tokens.map((t) => t.text)).toContain('订单');
    expect(tokens.map((t) => t.text)).toContain('order');
    for (const t of tokens)
      expect(text.slice(t.start, t.end).normalize('NFKC').toLowerCase()).toBe(t.text);
  });

  it('stems English words', () => {
    expect(tokenize('Refunds').map((t) => t.stem)).toEqual(['refund']);
  });

  it('yields no token for punctuation and emoji', () => {
    expect(tokenize('!!! 😀 ，。')).toEqual([]);
  });
});

describe('tokenize() on ASCII text', () => {
  it('gives the same tokens as on the general path', () => {
    const ascii = tokenize("Where's my ORDER 12345, please?");
    const general = tokenize("Where's my ORDER 12345, please? é").slice(0, -1);

    expect(ascii).toEqual(general);
    expect(ascii.map((t) => [t.stem, t.script])).toEqual([
      ["where'", 'latin'],
      ['my', 'latin'],
      ['order', 'latin'],
      ['12345', 'number'],
      ['pleas', 'latin'],
    ]);
  });
});
