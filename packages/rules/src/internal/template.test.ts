import { describe, expect, it } from 'vitest';
import { parseTemplate, renderTemplate, TemplateSyntaxError } from './template.js';

describe('parseTemplate()', () => {
  it('splits text and placeholders, with fallbacks', () => {
    expect(parseTemplate('Order {{ 1 }} for {{name|you}}.')).toEqual([
      'Order ',
      { ref: '1', fallback: undefined },
      ' for ',
      { ref: 'name', fallback: 'you' },
      '.',
    ]);
  });

  it('refuses an unclosed or malformed placeholder', () => {
    expect(() => parseTemplate('Hi {{name')).toThrow(TemplateSyntaxError);
    expect(() => parseTemplate('Hi {{ two words }}')).toThrow(TemplateSyntaxError);
  });
});

describe('renderTemplate()', () => {
  it('fills values, then fallbacks, then the empty string', () => {
    const parts = parseTemplate('{{a}}-{{b|none}}-{{c}}');

    expect(renderTemplate(parts, (ref) => (ref === 'a' ? 'A' : undefined))).toBe('A-none-');
  });
});
