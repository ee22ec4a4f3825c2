import { readFile } from 'node:fs/promises';

import { KefuError, type TrainingExample } from '@kefu/core';

/**
 * Parses JSON Lines of `{ "text": "...", "intent": "..." }`. Blank lines and
 * a leading byte-order mark are skipped; other fields are ignored.
 *
 * @param source names the input in error messages.
 * @throws KefuError `INTENTS_DATA_INVALID` naming the first bad line
 *   (`details.line`, 1-based).
 */
export function parseDataset(content: string, source = 'input'): TrainingExample[] {
  const rows: TrainingExample[] = [];
  // Editors on Windows often save UTF-8 with a byte-order mark: not part of line 1.
  const lines = content.replace(/^\uFEFF/, '').split(/\r?\n/);

  lines.forEach((line, i) => {
    if (line.trim() === '') return;

    const bad = (why: string, cause?: unknown): KefuError =>
      new KefuError('INTENTS_DATA_INVALID', `${source}:${i + 1}: ${why}`, {
        ...(cause === undefined ? {} : { cause }),
        details: { file: source, line: i + 1 },
      });

    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (err) {
      throw bad('line is not valid JSON', err);
    }
    const r = row as Record<string, unknown> | null;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw bad('expected a JSON object');
    if (typeof r.text !== 'string' || r.text.trim() === '') throw bad('expected a non-empty string "text"');
    if (typeof r.intent !== 'string' || r.intent.trim() === '') throw bad('expected a non-empty string "intent"');

    rows.push({ text: r.text, intent: r.intent });
  });

  return rows;
}

/**
 * Reads a JSON Lines data set from a file.
 *
 * @throws KefuError `INTENTS_DATA_INVALID` when the file cannot be read, has
 *   a bad line (with its number) or has no rows.
 */
export async function readDataset(file: string): Promise<TrainingExample[]> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (err) {
    throw new KefuError('INTENTS_DATA_INVALID', `cannot read data set ${file}`, { cause: err, details: { file } });
  }

  const rows = parseDataset(content, file);
  if (rows.length === 0) throw new KefuError('INTENTS_DATA_INVALID', `data set ${file} has no rows`, { details: { file } });

  return rows;
}
