import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@kefu/core';
import { codesIn, readText, section, tableKeys } from '../../../test/support/readme.js';
import { RULES_EVENTS } from '../src/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = await readText(join(root, 'README.md'));

describe('README', () => {
  it('lists exactly the error codes the package throws', async () => {
    const thrown = await codesIn(join(root, 'src'), 'RULES_');

    expect(tableKeys(section(readme, 'Error codes'))).toEqual(thrown);
    for (const code of thrown) expect(ERROR_CODES).toContain(code);
  });

  it('lists exactly the events the engine emits', () => {
    expect(tableKeys(section(readme, 'Events'))).toEqual([...RULES_EVENTS].sort());
  });
});
