import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '@kefu/core';
import { describe, expect, it } from 'vitest';
import { codesIn, readText, section, sourceText, tableKeys } from '../../../test/support/readme.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = await readText(path.join(root, 'README.md'));

describe('README', () => {
  it('lists exactly the error codes the package uses, all of them registered in core', async () => {
    const used = await codesIn(path.join(root, 'src'), 'TRANSPORT_WS_');
    const registered = ERROR_CODES.filter((c) => c.startsWith('TRANSPORT_WS_')).sort();

    expect(tableKeys(section(readme, 'Error codes'))).toEqual(used);
    expect(used).toEqual(registered);
  });

  it('lists exactly the events the server emits', async () => {
    const src = await sourceText(path.join(root, 'src'));
    const emitted = [...new Set([...src.matchAll(/\.emit\('([a-z.]+)'/g)].map((m) => m[1] as string))].sort();

    expect(tableKeys(section(readme, 'Events'))).toEqual(emitted);
  });
});
