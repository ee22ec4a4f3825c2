import { describe, expect, it } from 'vitest';

import { parseDataset } from './dataset.js';

describe('parseDataset()', () => {
  it('reads rows and skips blank lines', () => {
    const rows = parseDataset('{"text":"hi","intent":"greet","extra":1}\n\n{"text":"bye","intent":"leave"}\n');

    expect(rows).toEqual([
      { text: 'hi', intent: 'greet' },
      { text: 'bye', intent: 'leave' },
    ]);
  });

  it('reads a file saved with a byte-order mark and CRLF line ends', () => {
    const rows = parseDataset('\uFEFF{"text":"hi","intent":"greet"}\r\n{"text":"bye","intent":"leave"}\r\n');

    expect(rows).toEqual([
      { text: 'hi', intent: 'greet' },
      { text: 'bye', intent: 'leave' },
    ]);
  });

  it.each([
    ['{"text":"hi"', 'bad JSON'],
    ['["hi","greet"]', 'an array'],
    ['{"text":"","intent":"greet"}', 'an empty text'],
    ['{"text":"hi","intent":3}', 'a non-string intent'],
  ])('names the line of %s (%s) with INTENTS_DATA_INVALID', (bad) => {
    const content = `{"text":"ok","intent":"a"}\n${bad}\n`;

    expect(() => parseDataset(content, 'x.jsonl')).toThrow(
      expect.objectContaining({ code: 'INTENTS_DATA_INVALID', details: { file: 'x.jsonl', line: 2 } }),
    );
  });
});
