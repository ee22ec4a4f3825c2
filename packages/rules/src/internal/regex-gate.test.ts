import { describe, expect, it } from 'vitest';
import { regexGate } from './regex-gate.js';

describe('regexGate()', () => {
  it('takes the longest required literal, lower-cased', () => {
    expect(regexGate('Order\\s*#?(\\d{6,})')).toEqual({
      kind: 'literal',
      literal: 'order',
      digits: 6,
    });
    expect(regexGate('tracking number:? [A-Z]{2}\\d+')).toEqual({
      kind: 'literal',
      literal: 'tracking',
      digits: 1,
    });
  });

  it('drops optional characters and keeps escaped punctuation', () => {
    expect(regexGate('colou?r')).toEqual({ kind: 'literal', literal: 'colo', digits: 0 });
    expect(regexGate('a\\.b+c')).toEqual({ kind: 'literal', literal: 'a.b', digits: 0 });
  });

  it('falls back to the longest run of required digits', () => {
    expect(regexGate('\\b\\d{6,}\\b')).toEqual({ kind: 'digit', digits: 6 });
    expect(regexGate('^[0-9]+$')).toEqual({ kind: 'digit', digits: 1 });
    expect(regexGate('\\d\\d-?\\d{3}')).toEqual({ kind: 'digit', digits: 3 });
  });

  it('reads required groups', () => {
    expect(regexGate('#(?<n>\\d{6})')).toEqual({ kind: 'literal', literal: '#', digits: 6 });
    expect(regexGate('(?:sku)-(\\d+)')).toEqual({ kind: 'literal', literal: 'sku', digits: 1 });
  });

  it('gives up on a top-level alternation', () => {
    expect(regexGate('refund|money back')).toEqual({ kind: 'always' });
  });

  it('treats groups, classes and escapes as run breakers', () => {
    expect(regexGate('(?:refund|money)\\w+')).toEqual({ kind: 'always' });
    expect(regexGate('(?:refund)?\\w+')).toEqual({ kind: 'always' });
    expect(regexGate('(?=refund)\\w+')).toEqual({ kind: 'always' });
    expect(regexGate('\\u0041bc')).toEqual({ kind: 'literal', literal: 'bc', digits: 0 });
    expect(regexGate('订单号(\\d+)')).toEqual({ kind: 'literal', literal: '订单号', digits: 1 });
  });
});
