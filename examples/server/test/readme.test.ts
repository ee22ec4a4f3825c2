import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ERROR_CODES } from '@kefu/core';
import { describe, expect, it } from 'vitest';
import { CONFIG_ENV, CONFIG_KEYS } from '../src/config.js';
import { EXAMPLES } from './helpers.js';

const readme = await readFile(join(EXAMPLES, 'README.md'), 'utf8');

function section(title: string): string {
  const start = readme.indexOf(`## ${title}`);

  expect(start, title).toBeGreaterThanOrEqual(0);

  const end = readme.indexOf('\n## ', start + 1);

  return readme.slice(start, end < 0 ? undefined : end);
}

async function sourceText(): Promise<string> {
  const dir = join(EXAMPLES, 'server/src');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));

  return (await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')))).join('\n');
}

describe('examples/README.md', () => {
  it('lists exactly the error codes the server throws', async () => {
    const thrown = new Set(
      [...(await sourceText()).matchAll(/KefuError\(\s*'([A-Z_]+)'/g)].map((m) => m[1]),
    );
    const documented = new Set(
      [...section('Error codes').matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]),
    );

    expect([...documented].sort()).toEqual([...thrown].sort());
    for (const code of documented) expect(ERROR_CODES).toContain(code);
  });

  it('documents every setting with its environment variable', () => {
    const table = section('Configuration');

    for (const key of CONFIG_KEYS) {
      expect(table, key).toContain(`| \`${key}\` | \`${CONFIG_ENV[key] ?? '?'}\``);
    }
  });
});
