import { join } from 'node:path';
import { ERROR_CODES } from '@kefu/core';
import { describe, expect, it } from 'vitest';
import { readText, section, sourceText, tableKeys } from '../../../test/support/readme.js';
import { CONFIG_ENV, CONFIG_KEYS } from '../src/config.js';
import { EXAMPLES } from './helpers.js';

const readme = await readText(join(EXAMPLES, 'README.md'));

describe('examples/README.md', () => {
  it('lists exactly the error codes the server throws', async () => {
    const source = await sourceText(join(EXAMPLES, 'server/src'));
    const thrown = [...new Set([...source.matchAll(/KefuError\(\s*'([A-Z_]+)'/g)].map((m) => m[1] as string))];
    const documented = tableKeys(section(readme, 'Error codes'));

    expect(documented).toEqual(thrown.sort());
    for (const code of documented) expect(ERROR_CODES).toContain(code);
  });

  it('documents every setting with its environment variable', () => {
    const table = section(readme, 'Configuration');

    for (const key of CONFIG_KEYS) {
      expect(table, key).toContain(`| \`${key}\` | \`${CONFIG_ENV[key] ?? '?'}\``);
    }
  });
});
