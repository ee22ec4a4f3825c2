import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '@kefu/core';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function sources(): Promise<string> {
  const texts: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(file);
      else if (file.endsWith('.ts') && !file.endsWith('.test.ts')) texts.push(await readFile(file, 'utf8'));
    }
  };
  await walk(path.join(root, 'src'));
  return texts.join('\n');
}

/** The first column of the README table under `heading`. */
async function tableKeys(heading: string): Promise<string[]> {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8');
  const section = readme.split(`\n## ${heading}\n`)[1]?.split('\n## ')[0] ?? '';

  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1] as string).sort();
}

describe('README', () => {
  it('lists exactly the error codes the package uses, all of them registered in core', async () => {
    const src = await sources();
    const used = [...new Set(src.match(/TRANSPORT_WS_[A-Z_]+/g))].sort();
    const registered = ERROR_CODES.filter((c) => c.startsWith('TRANSPORT_WS_')).sort();

    expect(await tableKeys('Error codes')).toEqual(used);
    expect(used).toEqual(registered);
  });

  it('lists exactly the events the server emits', async () => {
    const src = await sources();
    const emitted = [...new Set([...src.matchAll(/\.emit\('([a-z.]+)'/g)].map((m) => m[1] as string))].sort();

    expect(await tableKeys('Events')).toEqual(emitted);
  });
});
