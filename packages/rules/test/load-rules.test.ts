import { copyFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKefuError, silentLogger } from '@kefu/core';
import type { KefuError, Logger } from '@kefu/core';
import { loadRules } from '../src/index.js';
import type { RuleEngine, RulesEvents } from '../src/index.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

function next<E extends keyof RulesEvents>(
  engine: RuleEngine,
  event: E,
): Promise<Parameters<RulesEvents[E]>[0]> {
  return new Promise((resolve) => {
    engine.once(event, ((payload: Parameters<RulesEvents[E]>[0]) => resolve(payload)) as never);
  });
}

async function rejection(promise: Promise<unknown>): Promise<KefuError> {
  try {
    await promise;
  } catch (err) {
    if (isKefuError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

let dir: string;
let file: string;
let engine: RuleEngine | undefined;

// Saves the way editors do: a new file renamed over the old one.
async function replaceWith(fixture: string): Promise<void> {
  await copyFile(join(fixtures, fixture), `${file}.tmp`);
  await rename(`${file}.tmp`, file);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kefu-rules-'));
  file = join(dir, 'rules.yaml');
  await copyFile(join(fixtures, 'shop.yaml'), file);
});

afterEach(async () => {
  await engine?.close();
  engine = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('loadRules()', () => {
  it('loads a YAML file', async () => {
    engine = await loadRules(join(fixtures, 'shop.yaml'));

    expect(engine.match('我要转人工')[0]).toMatchObject({
      intent: 'handoff',
      reply: '正在为您转接人工客服。',
    });
    expect(engine.match('where is order #123456')[0]?.reply).toBe('Looking up order 123456.');
  });

  it('loads a JSON file', async () => {
    engine = await loadRules(join(fixtures, 'shop.json'));

    expect(engine.match('refund please')[0]).toMatchObject({
      intent: 'refund',
      reply: 'Refund for your order',
    });
  });

  it('refuses a missing file', async () => {
    const err = await rejection(loadRules(join(fixtures, 'missing.yaml')));

    expect(err.code).toBe('RULES_FILE_NOT_FOUND');
  });

  it.each([
    ['bad-yaml.yaml', 'RULES_PARSE_FAILED', { line: 6 }],
    ['empty.yaml', 'RULES_PARSE_FAILED', {}],
    ['bad-json.json', 'RULES_PARSE_FAILED', { line: 2 }],
    ['unknown-field.json', 'RULES_INVALID', { ruleId: 'a', field: 'extra', line: 2 }],
    ['top-level.yaml', 'RULES_INVALID', { field: 'version', line: 1 }],
    [
      'unknown-field.yaml',
      'RULES_INVALID',
      { ruleId: 'refund', field: 'match.keywords', line: 10 },
    ],
    ['missing-intent.yaml', 'RULES_INVALID', { ruleId: 'refund', field: 'intent', line: 6 }],
    [
      'unsafe-regex.yaml',
      'RULES_UNSAFE_REGEX',
      { ruleId: 'greedy', field: 'match.regex.0', line: 9 },
    ],
    ['duplicate-id.yaml', 'RULES_DUPLICATE_ID', { ruleId: 'human', field: 'id', line: 6 }],
  ])('refuses %s with %s, naming where', async (fixture, code, where) => {
    const path = join(fixtures, fixture);
    const err = await rejection(loadRules(path));

    expect(err.code).toBe(code);
    expect(err.details).toMatchObject({ file: path, ...where });
  });

  it('refuses bad options', async () => {
    const err = await rejection(loadRules(file, { debounceMs: -1 }));

    expect(err.code).toBe('RULES_OPTIONS_INVALID');
  });
});

describe('RuleEngine watching a file', () => {
  it('reloads the file in place when it changes', async () => {
    engine = await loadRules(file, { watch: true, debounceMs: 10 });
    const loaded = next(engine, 'rules.loaded');

    await replaceWith('shop-v2.yaml');

    expect(await loaded).toMatchObject({ source: file, file, rules: 2, total: 2, reload: true });
    expect(engine.match('发票')[0]?.intent).toBe('invoice');
    expect(engine.match('refund')).toEqual([]);
  });

  it.each([
    ['bad-yaml.yaml', 'RULES_PARSE_FAILED'],
    ['unknown-field.yaml', 'RULES_INVALID'],
    ['missing-intent.yaml', 'RULES_INVALID'],
    ['unsafe-regex.yaml', 'RULES_UNSAFE_REGEX'],
    ['duplicate-id.yaml', 'RULES_DUPLICATE_ID'],
  ])('keeps the previous rules serving when %s arrives', async (fixture, code) => {
    const warnings: Record<string, unknown>[] = [];
    const warn = (fields: Record<string, unknown>): void => void warnings.push(fields);
    const logger: Logger = { ...silentLogger, warn: warn as Logger['warn'] };
    engine = await loadRules(file, { watch: true, debounceMs: 10, logger });
    const failed = next(engine, 'rules.failed');

    await replaceWith(fixture);
    const event = await failed;

    expect(event.error.code).toBe(code);
    expect(event.file).toBe(file);
    expect(warnings[0]).toMatchObject({ file, code, line: event.error.details?.['line'] });
    expect(engine.match('refund please')[0]?.intent).toBe('refund');

    // A good version afterwards is picked up again.
    const loaded = next(engine, 'rules.loaded');
    await replaceWith('shop-v2.yaml');
    await loaded;
    expect(engine.match('invoice')[0]?.intent).toBe('invoice');
  });

  it('keeps serving when the file is deleted', async () => {
    engine = await loadRules(file, { watch: true, debounceMs: 10 });
    const failed = next(engine, 'rules.failed');

    await rm(file);

    expect((await failed).error.code).toBe('RULES_FILE_NOT_FOUND');
    expect(engine.match('refund')[0]?.intent).toBe('refund');
  });

  it('stops reloading once closed', async () => {
    engine = await loadRules(file, { watch: true, debounceMs: 10 });
    const control = await loadRules(file, { watch: true, debounceMs: 200 });
    await engine.close();
    const loaded = next(control, 'rules.loaded');

    await replaceWith('shop-v2.yaml');
    await loaded;
    await control.close();

    // The control waited 200 ms after the change; the closed engine would have
    // reloaded after 10 ms.
    expect(control.match('invoice')[0]?.intent).toBe('invoice');
    expect(engine.match('invoice')).toEqual([]);
    expect(engine.match('refund')[0]?.intent).toBe('refund');
  });

  it('serves file rules and plugin rules side by side', async () => {
    engine = await loadRules(file, { watch: true, debounceMs: 10 });
    engine.setRules('billing', [
      { id: 'refund', intent: 'billing.refund', match: { any: ['chargeback'] } },
    ]);
    const loaded = next(engine, 'rules.loaded');

    await writeFile(file, 'rules: []\n');
    await loaded;

    expect(engine.sources()).toEqual(['billing']);
    expect(engine.match('chargeback')[0]?.intent).toBe('billing.refund');
  });
});
