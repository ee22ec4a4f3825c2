import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { readDataset, runEvalCommand } from '../src/index.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

function capture(): { io: { stdout: { write(s: string): boolean }; stderr: { write(s: string): boolean } }; out: () => string; err: () => string } {
  let out = '';
  let err = '';

  return {
    io: {
      stdout: { write: (s: string) => ((out += s), true) },
      stderr: { write: (s: string) => ((err += s), true) },
    },
    out: () => out,
    err: () => err,
  };
}

describe('runEvalCommand()', () => {
  it('prints exactly one JSON object with --json', async () => {
    const c = capture();
    const code = await runEvalCommand(
      ['--train', fixture('shop-en-oos.jsonl'), '--test', fixture('shop-en-test.jsonl'), '--json'],
      c.io,
    );

    expect(code).toBe(0);
    const report = JSON.parse(c.out()) as Record<string, unknown>;
    for (const key of ['inScopeAccuracy', 'oosRecall', 'oosPrecision', 'macroF1', 'microF1', 'trainMs', 'classifyPerSec']) {
      expect(report).toHaveProperty(key);
    }
    expect(report.counts).toMatchObject({ train: 53, test: 7, testInScope: 6, testOos: 1 });
    expect(report.inScopeAccuracy).toBe(1);
  });

  it('prints a readable report by default', async () => {
    const c = capture();
    const code = await runEvalCommand(['--train', fixture('shop-en.jsonl'), '--test', fixture('shop-en-test.jsonl')], c.io);

    expect(code).toBe(0);
    expect(c.out()).toMatch(/in-scope accuracy/);
    expect(c.out()).toMatch(/per-intent F1/);
  });

  it('exits non-zero and names the bad line of an input file', async () => {
    const c = capture();
    const code = await runEvalCommand(['--train', fixture('bad-line.jsonl'), '--test', fixture('shop-en-test.jsonl')], c.io);

    expect(code).toBe(1);
    expect(c.err()).toContain('INTENTS_DATA_INVALID');
    expect(c.err()).toContain('bad-line.jsonl:3');
    await expect(readDataset(fixture('bad-line.jsonl'))).rejects.toMatchObject({ details: { line: 3 } });
  });

  it('exits non-zero on a missing file, missing flags or an unknown provider', async () => {
    const c = capture();

    expect(await runEvalCommand(['--train', fixture('nope.jsonl'), '--test', fixture('shop-en-test.jsonl')], c.io)).toBe(1);
    expect(await runEvalCommand(['--train', fixture('shop-en.jsonl')], c.io)).toBe(1);
    expect(await runEvalCommand(['--train', 'a', '--test', 'b', '--provider', 'magic'], c.io)).toBe(1);
    expect(await runEvalCommand(['--bogus'], c.io)).toBe(1);
  });

  it('passes --option values to the provider and rejects bad ones', async () => {
    const c = capture();
    const args = ['--train', fixture('shop-en.jsonl'), '--test', fixture('shop-en-test.jsonl'), '--json'];

    expect(await runEvalCommand([...args, '--option', 'epochs=3'], c.io)).toBe(0);
    expect(await runEvalCommand([...args, '--option', 'epochs=-1'], c.io)).toBe(1);
    expect(c.err()).toContain('INTENTS_OPTIONS_INVALID');
  });
});
