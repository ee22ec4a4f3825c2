import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ERROR_CODES } from '@kefu/core';
import { describe, expect, it } from 'vitest';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));

/** The text of one `## <title>` section of the README. */
async function section(title: string): Promise<string> {
  const readme = await readFile(join(PACKAGE, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no "## ${title}" section`);
  const end = readme.indexOf('\n## ', start + 1);

  return readme.slice(start, end < 0 ? undefined : end);
}

/** The first-column names of the table under `### <title>`, backticks removed. */
function tableNames(text: string, title: string): string[] {
  const start = text.indexOf(`### ${title}\n`);
  const end = text.indexOf('\n### ', start + 1);
  const block = text.slice(start, end < 0 ? undefined : end);

  return [...block.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1] ?? '').sort();
}

/** Every `INTENTS_*` code a folder's sources mention. */
async function codesIn(folder: string): Promise<string[]> {
  const dir = join(PACKAGE, 'src', folder);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  const codes = new Set<string>();

  for (const file of files) {
    const source = await readFile(join(dir, file), 'utf8');
    for (const match of source.matchAll(/'(INTENTS_[A-Z_]+)'/g)) codes.add(match[1] ?? '');
  }

  return [...codes].sort();
}

/** The keys of the zod object named `optionsSchema` in a source file. */
async function optionKeys(file: string): Promise<string[]> {
  const source = await readFile(join(PACKAGE, 'src', file), 'utf8');
  const start = source.indexOf('const optionsSchema = z');
  const block = source.slice(start, source.indexOf('.strict()', start));

  return [...block.matchAll(/^ {4}(\w+): /gm)].map((m) => m[1] ?? '').sort();
}

describe.each([
  ['EmbeddingNlu', 'embedding', 'embedding/embedding-nlu.ts'],
  ['HttpNlu', 'http', 'http/http-nlu.ts'],
])('the README section on %s', (title, folder, optionsFile) => {
  it('lists exactly the error codes the sources throw', async () => {
    const documented = tableNames(await section(title), 'Error codes');

    expect(documented).toEqual(await codesIn(folder));
    for (const code of documented) expect(ERROR_CODES).toContain(code);
  });

  it('lists exactly the options the schema accepts', async () => {
    expect(tableNames(await section(title), 'Options')).toEqual(await optionKeys(optionsFile));
  });
});
