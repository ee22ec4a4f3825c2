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
    for (const t of tokens) expect(text.slice(t.start, t.end).normalize('NFKC').toLowerCase()).toBe(t.text);
  });

  it('stems English words', () => {
    expect(tokenize('Refunds').map((t) => t.stem)).toEqual(['refund']);
  });

  it('yields no token for punctuation and emoji', () => {
    expect(tokenize('!!! 😀 ，。')).toEqual([]);
  });
});
