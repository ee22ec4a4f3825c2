import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@kefu/core';
import { RULES_EVENTS } from '../src/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name));
}

// The first column of the table under a `## heading`, where it is `code`.
function tableColumn(readme: string, heading: string): string[] {
  const section = readme.split(`## ${heading}\n`)[1]?.split('\n## ')[0] ?? '';
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1] as string);
}

describe('README', () => {
  it('lists exactly the error codes the package throws', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const thrown = new Set<string>();
    for (const file of await sources(join(root, 'src'))) {
      const text = await readFile(file, 'utf8');
      for (const m of text.matchAll(/'(RULES_[A-Z_]+)'/g)) thrown.add(m[1] as string);
    }

    expect(tableColumn(readme, 'Error codes').sort()).toEqual([...thrown].sort());
    for (const code of thrown) expect(ERROR_CODES).toContain(code);
  });

  it('lists exactly the events the engine emits', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');

    expect(tableColumn(readme, 'Events').sort()).toEqual([...RULES_EVENTS].sort());
  });
});
