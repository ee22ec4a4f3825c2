import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { codesIn, readText, section, tableKeys } from '../../../test/support/readme.js';
import { ERROR_CODES } from '../src/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = await readText(join(root, 'README.md'));

describe('README', () => {
  it('lists exactly the error codes the package throws', async () => {
    const thrown = await codesIn(join(root, 'src'), 'CORE_', (file) => file.endsWith('errors.ts'));
    const listed = tableKeys(section(readme, 'Error codes'));

    expect(thrown).toEqual(listed);
    for (const code of listed) expect(ERROR_CODES).toContain(code);
  });

  it('lists exactly the events of the engine', async () => {
    const types = await readText(join(root, 'src/types.ts'));
    const start = types.indexOf('export interface EngineEvents');
    const block = types.slice(start, types.indexOf('\n}\n', start));
    const events = [...block.matchAll(/^ {2}'?([a-zA-Z.]+)'?: \{/gm)].map((m) => m[1] as string);

    expect(events.length).toBeGreaterThan(10);
    expect(tableKeys(section(readme, 'Events'))).toEqual(events.sort());
  });
});
