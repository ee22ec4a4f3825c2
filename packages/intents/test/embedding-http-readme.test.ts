import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ERROR_CODES } from '@kefu/core';
import { describe, expect, it } from 'vitest';

import { codesIn, readText, section, tableKeys } from '../../../test/support/readme.js';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const readme = await readText(join(PACKAGE, 'README.md'));

/** The table under `### <table>` inside the README section `## <title>`. */
const table = (title: string, name: string): string[] => tableKeys(section(section(readme, title), name, 3));

/** The keys of the zod object named `optionsSchema` in a source file. */
async function optionKeys(file: string): Promise<string[]> {
  const source = await readText(join(PACKAGE, 'src', file));
  const start = source.indexOf('const optionsSchema = z');
  const block = source.slice(start, source.indexOf('.strict()', start));

  return [...block.matchAll(/^ {4}(\w+): /gm)].map((m) => m[1] ?? '').sort();
}

describe.each([
  ['EmbeddingNlu', 'embedding', 'embedding/embedding-nlu.ts'],
  ['HttpNlu', 'http', 'http/http-nlu.ts'],
])('the README section on %s', (title, folder, optionsFile) => {
  it('lists exactly the error codes the sources throw', async () => {
    const documented = table(title, 'Error codes');

    expect(documented).toEqual(await codesIn(join(PACKAGE, 'src', folder), 'INTENTS_'));
    for (const code of documented) expect(ERROR_CODES).toContain(code);
  });

  it('lists exactly the options the schema accepts', async () => {
    expect(table(title, 'Options')).toEqual(await optionKeys(optionsFile));
  });
});
