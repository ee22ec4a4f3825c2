import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ERROR_CODES } from '@kefu/core';
import { describe, expect, it } from 'vitest';

import { codesIn, readText, section, tableKeys } from '../../../test/support/readme.js';
import { classicNluOptionsSchema } from '../src/classic/options.js';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const readme = await readText(join(PACKAGE, 'README.md'));

/** The table under `### <table>` inside the README section `## <title>`. */
const table = (title: string, name: string): string[] => tableKeys(section(section(readme, title), name, 3));

describe.each([
  ['ClassicNlu', 'classic'],
  ['The eval tool', 'eval'],
])('the README section "%s"', (title, folder) => {
  it('lists exactly the error codes its sources throw', async () => {
    const documented = table(title, 'Error codes');

    expect(documented).toEqual(await codesIn(join(PACKAGE, 'src', folder), 'INTENTS_'));
    for (const code of documented) expect(ERROR_CODES).toContain(code);
  });
});

describe('the README section "ClassicNlu"', () => {
  it('lists exactly the options the schema accepts', () => {
    const keys = Object.keys(classicNluOptionsSchema.shape).sort();

    expect(table('ClassicNlu', 'Options')).toEqual(keys);
  });
});
