import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { ERROR_CODES } from '../src/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });

  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** Codes in the first column of the README table under `heading`. */
function tableCodes(readme: string, heading: string): string[] {
  const start = readme.indexOf(`## ${heading}`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);

  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1] as string);
}

describe('README', () => {
  it('lists exactly the error codes the package throws', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const thrown = new Set<string>();

    for (const file of await sources(join(root, 'src'))) {
      if (file.endsWith('errors.ts')) continue;

      const text = await readFile(file, 'utf8');

      for (const m of text.matchAll(/'(CORE_[A-Z_]+)'/g)) thrown.add(m[1] as string);
    }

    const listed = tableCodes(readme, 'Error codes');

    expect([...thrown].sort()).toEqual([...listed].sort());
    expect(listed.every((code) => (ERROR_CODES as readonly string[]).includes(code))).toBe(true);
  });

  it('lists exactly the events of the engine', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const types = await readFile(join(root, 'src/types.ts'), 'utf8');
    const block = types.slice(
      types.indexOf('export interface EngineEvents'),
      types.indexOf('\n}\n', types.indexOf('export interface EngineEvents')),
    );
    const events = [...block.matchAll(/^ {2}'?([a-zA-Z.]+)'?: \{/gm)].map((m) => m[1] as string);

    expect(events.length).toBeGreaterThan(10);
    expect(tableCodes(readme, 'Events').sort()).toEqual(events.sort());
  });
});
