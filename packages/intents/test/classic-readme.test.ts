import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ERROR_CODES } from '@kefu/core';
import { describe, expect, it } from 'vitest';

import { classicNluOptionsSchema } from '../src/classic/options.js';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));

async function readmeSection(title: string): Promise<string> {
  const readme = await readFile(join(PACKAGE, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${title}\n`);
  expect(start, `README section "## ${title}"`).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n## ', start + 1);

  return readme.slice(start, end < 0 ? undefined : end);
}

/** The backticked first column of the table under `### <title>`. */
function firstColumn(text: string, title: string): string[] {
  const start = text.indexOf(`### ${title}\n`);
  const end = text.indexOf('\n### ', start + 1);

  return [...text.slice(start, end < 0 ? undefined : end).matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!).sort();
}

/** Every `INTENTS_*` code the non-test sources of a folder mention. */
async function codesIn(folder: string): Promise<string[]> {
  const dir = join(PACKAGE, 'src', folder);
  const codes = new Set<string>();
  for (const file of await readdir(dir)) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
    for (const m of (await readFile(join(dir, file), 'utf8')).matchAll(/'(INTENTS_[A-Z_]+)'/g)) codes.add(m[1]!);
  }

  return [...codes].sort();
}

describe.each([
  ['ClassicNlu', 'classic'],
  ['The eval tool', 'eval'],
])('the README section "%s"', (title, folder) => {
  it('lists exactly the error codes its sources throw', async () => {
    const documented = firstColumn(await readmeSection(title), 'Error codes');

    expect(documented).toEqual(await codesIn(folder));
    for (const code of documented) expect(ERROR_CODES).toContain(code);
  });
});

describe('the README section "ClassicNlu"', () => {
  it('lists exactly the options the schema accepts', async () => {
    const keys = Object.keys(classicNluOptionsSchema.shape).sort();

    expect(firstColumn(await readmeSection('ClassicNlu'), 'Options')).toEqual(keys);
  });
});
