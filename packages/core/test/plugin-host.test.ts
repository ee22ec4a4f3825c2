import { rename } from 'node:fs/promises';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createEngine, isKefuError, type Engine, type EngineOptions } from '../src/index.js';
import { tableRules } from './doubles.js';
import {
  collect,
  makePluginDir,
  nextEvent,
  pluginSource,
  scratch,
  type PluginDir,
} from './helpers.js';

let dir: PluginDir;
const engines: Engine[] = [];

beforeEach(async () => {
  dir = await makePluginDir();
});

afterEach(async () => {
  await Promise.all(engines.splice(0).map((engine) => engine.close()));
  await dir.cleanup();
});

const alwaysGreet = { match: () => [{ intent: 'greet', score: 1 }] };

async function engineWith(options: EngineOptions = {}): Promise<Engine> {
  const engine = await createEngine({ plugins: { dir: dir.dir }, rules: alwaysGreet, ...options });

  engines.push(engine);

  return engine;
}

function greet(version: string, extra: Partial<Parameters<typeof pluginSource>[0]> = {}): string {
  return pluginSource({
    name: 'greet',
    version,
    intents: [{ name: 'greet', examples: ['hello'] }],
    handle: `return 'v${version}';`,
    ...extra,
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isKefuError(error)) return error.code;
    throw error;
  }

  throw new Error('expected a rejection');
}

describe('plugin host', () => {
  describe('loading', () => {
    it('loads .js and .mjs plugins from a folder and from files', async () => {
      await dir.write('greet.js', greet('1.0.0'));
      await dir.write('other.mjs', pluginSource({ name: 'other' }));
      await dir.write('notes.txt', 'not a plugin');
      await dir.write('helper.test.js', 'throw new Error("never loaded")');

      const extra = await makePluginDir();

      try {
        const file = await extra.write('third.js', pluginSource({ name: 'third' }));
        const engine = await engineWith({ plugins: { dir: dir.dir, files: [file] } });
        const names = engine.plugins.list().map((p) => [p.name, p.state]);

        expect(names.sort()).toEqual([
          ['greet', 'active'],
          ['other', 'active'],
          ['third', 'active'],
        ]);
        expect(await engine.handle({ sessionId: 's', text: 'hi' })).toMatchObject({
          plugin: { name: 'greet', version: '1.0.0' },
          text: 'v1.0.0',
        });
      } finally {
        await extra.cleanup();
      }
    });

    it('transpiles and loads a .ts plugin that imports definePlugin from @kefu/core', async () => {
      await dir.write(
        'typed.ts',
        `import { definePlugin, type Turn } from '@kefu/core';
import { shout } from './lib/shout.js';

const greeting: string = 'hello from TypeScript';

export default definePlugin({
  name: 'greet',
  version: '3.0.0',
  intents: [{ name: 'greet', examples: ['hi'] }],
  handle: (turn: Turn): string => shout(greeting) + ' ' + turn.sessionId,
});
`,
      );
      await dir.write(
        'lib/shout.ts',
        `export const shout = (s: string): string => s.toUpperCase();\n`,
      );

      const engine = await engineWith();
      const reply = await engine.handle({ sessionId: 's', text: 'hi' });

      expect(reply).toMatchObject({
        plugin: { name: 'greet', version: '3.0.0' },
        text: 'HELLO FROM TYPESCRIPT s',
      });
    });

    it('loads a .mts plugin', async () => {
      await dir.write(
        'typed.mts',
        `const text: string = 'from mts';\nexport default { name: 'greet', version: '1.0.0', intents: [{ name: 'greet', examples: ['hi'] }], handle: (): string => text };\n`,
      );

      const engine = await engineWith();

      expect(await engine.handle({ sessionId: 's', text: 'hi' })).toMatchObject({
        text: 'from mts',
      });
    });

    it('refuses a plugin that lists one intent twice with CORE_PLUGIN_INVALID', async () => {
      const engine = await engineWith();
      const failed = nextEvent(engine, 'plugin.failed');

      await engine.plugins.load(
        await dir.write(
          'twice.js',
          pluginSource({ name: 'twice', intents: [{ name: 'a' }, { name: 'a' }] }),
        ),
      );
      expect(isKefuError((await failed).error, 'CORE_PLUGIN_INVALID')).toBe(true);
    });

    it('refuses a module whose default export is not a plugin with CORE_PLUGIN_INVALID naming the file', async () => {
      const bad = await dir.write(
        'bad.js',
        `export default { name: 'bad', version: 'one', intents: [] };\n`,
      );
      const engine = await engineWith();

      expect(engine.plugins.list()).toEqual([
        expect.objectContaining({ name: 'bad', state: 'failed', file: bad }),
      ]);

      const failed = nextEvent(engine, 'plugin.failed');
      const info = await engine.plugins.load(bad);

      expect(await failed).toMatchObject({ file: bad, name: 'bad' });
      expect(isKefuError((await failed).error, 'CORE_PLUGIN_INVALID')).toBe(true);
      expect(info.state).toBe('failed');
      expect(info.error).toContain(bad);
      expect(info.error).toMatch(/version/);
    });

    it.each([
      ['a syntax error', 'export default {', 'CORE_PLUGIN_LOAD_FAILED'],
      ['no default export', 'export const x = 1;', 'CORE_PLUGIN_INVALID'],
      [
        'a missing handle()',
        `export default { name: 'x', version: '1.0.0', intents: [{ name: 'x', examples: [] }] };`,
        'CORE_PLUGIN_INVALID',
      ],
      [
        'a reserved intent name',
        pluginSource({ name: 'x', intents: [{ name: 'oos' }] }),
        'CORE_PLUGIN_INVALID',
      ],
      [
        'a throwing setup()',
        pluginSource({ name: 'x', setup: 'throw new Error("no db")' }),
        'CORE_PLUGIN_SETUP_FAILED',
      ],
    ])('emits plugin.failed for %s', async (_label, source, code) => {
      const engine = await engineWith();
      const failed = nextEvent(engine, 'plugin.failed');
      const file = await dir.write('x.js', source);

      await engine.plugins.load(file);

      const event = await failed;

      expect(event.file).toBe(file);
      expect(isKefuError(event.error, code as 'CORE_PLUGIN_INVALID')).toBe(true);
    });

    it('refuses a second file claiming a loaded plugin name with CORE_PLUGIN_DUPLICATE', async () => {
      await dir.write('a.js', greet('1.0.0'));

      const engine = await engineWith();
      const failed = nextEvent(engine, 'plugin.failed');
      const copy = await dir.write('b.js', greet('9.0.0'));

      await engine.plugins.load(copy);

      expect(isKefuError((await failed).error, 'CORE_PLUGIN_DUPLICATE')).toBe(true);
      expect(await engine.handle({ sessionId: 's', text: 'hi' })).toMatchObject({ text: 'v1.0.0' });
    });

    it('refuses a plugin claiming an intent another plugin answers with CORE_PLUGIN_DUPLICATE', async () => {
      await dir.write('a.js', greet('1.0.0'));

      const engine = await engineWith();
      const failed = nextEvent(engine, 'plugin.failed');

      await engine.plugins.load(
        await dir.write('b.js', pluginSource({ name: 'b', intents: [{ name: 'greet' }] })),
      );
      expect(isKefuError((await failed).error, 'CORE_PLUGIN_DUPLICATE')).toBe(true);
    });

    it('hands plugin rules to the matcher with their intent and id filled in', async () => {
      const rules = tableRules({});

      await dir.write(
        'ruled.js',
        pluginSource({
          name: 'ruled',
          intents: [
            { name: 'refund', rules: [{ keywords: ['refund'] }, { id: 'own', pattern: 'x' }] },
          ],
        }),
      );
      await engineWith({ rules });

      expect(rules.specs.get('ruled')).toEqual([
        { id: 'ruled:refund:0', keywords: ['refund'], intent: 'refund' },
        { id: 'own', pattern: 'x', intent: 'refund' },
      ]);
    });

    it('fails a version whose rules the matcher refuses, keeping the old one', async () => {
      const rules = tableRules({ hi: [{ intent: 'greet', score: 1 }] });

      await dir.write('greet.js', greet('1.0.0'));

      const engine = await engineWith({ rules });
      const failed = nextEvent(engine, 'plugin.failed');

      await engine.plugins.load(
        await dir.write(
          'greet.js',
          greet('2.0.0', { intents: [{ name: 'greet', rules: [{ invalid: true }] }] }),
        ),
      );

      expect(isKefuError((await failed).error, 'CORE_PLUGIN_INVALID')).toBe(true);
      expect(await engine.handle({ sessionId: 's', text: 'hi' })).toMatchObject({ text: 'v1.0.0' });
    });

    it('refuses an unreadable plugin folder with CORE_OPTIONS_INVALID', async () => {
      expect(await codeOf(createEngine({ plugins: { dir: `${dir.dir}/missing` } }))).toBe(
        'CORE_OPTIONS_INVALID',
      );
    });
  });

  describe('unloading', () => {
    it('unloads by name, disposing the version and everything it registered', async () => {
      await dir.write(
        'greet.js',
        greet('1.0.0', {
          setup: `
            const bag = (globalThis.kefuUnload = { replies: 0, ticks: 0, disposed: [] });
            api.on('reply.out', () => bag.replies++);
            api.setInterval(() => bag.ticks++, 5);
            api.onDispose(() => bag.disposed.push('api'));`,
          dispose: `globalThis.kefuUnload.disposed.push('plugin');`,
        }),
      );

      const engine = await engineWith();
      const bag = scratch<{ replies: number; ticks: number; disposed: string[] }>('kefuUnload');

      await engine.handle({ sessionId: 's', text: 'hi' });
      expect(bag.replies).toBe(1);

      const unloaded = nextEvent(engine, 'plugin.unloaded');

      await engine.plugins.unload('greet');
      expect(await unloaded).toMatchObject({ name: 'greet', reason: 'removed' });
      expect(bag.disposed).toEqual(['api', 'plugin']);

      const ticks = bag.ticks;

      await engine.handle({ sessionId: 's', text: 'hi' });
      await new Promise((done) => setTimeout(done, 20));
      expect(bag.replies).toBe(1);
      expect(bag.ticks).toBe(ticks);
      expect(engine.plugins.list()).toEqual([]);
    });

    it('refuses to unload an unknown plugin with CORE_PLUGIN_NOT_FOUND', async () => {
      const engine = await engineWith();

      expect(await codeOf(engine.plugins.unload('nobody'))).toBe('CORE_PLUGIN_NOT_FOUND');
    });
  });

  describe('hot reload', () => {
    it('swaps in a changed file as a new version', async () => {
      await dir.write('greet.js', greet('1.0.0'));

      const engine = await engineWith({ plugins: { dir: dir.dir, watch: true, debounceMs: 20 } });
      const loaded = nextEvent(engine, 'plugin.loaded');
      const unloaded = nextEvent(engine, 'plugin.unloaded');

      await dir.write('greet.js', greet('1.1.0'));

      expect(await loaded).toMatchObject({
        name: 'greet',
        version: '1.1.0',
        previousVersion: '1.0.0',
      });
      expect(await unloaded).toMatchObject({ version: '1.0.0', reason: 'replaced' });
      expect(await engine.handle({ sessionId: 's', text: 'hi' })).toMatchObject({ text: 'v1.1.0' });
    });

    it('keeps the old version serving when the new one is broken', async () => {
      await dir.write('greet.js', greet('1.0.0'));

      const engine = await engineWith({ plugins: { dir: dir.dir, watch: true, debounceMs: 20 } });
      const failed = nextEvent(engine, 'plugin.failed');

      await dir.write('greet.js', 'export default { this is not javascript');

      expect(await failed).toMatchObject({ name: 'greet' });
      expect(await engine.handle({ sessionId: 's', text: 'hi' })).toMatchObject({ text: 'v1.0.0' });
      expect(engine.plugins.list()).toEqual([
        expect.objectContaining({
          name: 'greet',
          version: '1.0.0',
          state: 'active',
          error: expect.any(String),
        }),
      ]);
    });

    it('reloads once, as the new version, when an editor saves by renaming a temporary file', async () => {
      await dir.write('greet.js', greet('1.0.0'));

      const engine = await engineWith({ plugins: { dir: dir.dir, watch: true, debounceMs: 30 } });
      const loaded = collect(engine, 'plugin.loaded');
      const unloaded = collect(engine, 'plugin.unloaded');
      const swapped = nextEvent(engine, 'plugin.loaded');

      await dir.write('.greet.js.swp', greet('1.1.0'));
      await rename(`${dir.dir}/.greet.js.swp`, `${dir.dir}/greet.js`);
      await swapped;
      await new Promise((done) => setTimeout(done, 100));

      expect(loaded.map((e) => e.version)).toEqual(['1.1.0']);
      expect(unloaded.map((e) => e.reason)).toEqual(['replaced']);
      expect(await engine.handle({ sessionId: 's', text: 'hi' })).toMatchObject({ text: 'v1.1.0' });
    });

    it('clears the error when a broken file is saved back to the serving version', async () => {
      await dir.write('greet.js', greet('1.0.0'));

      const engine = await engineWith({ plugins: { dir: dir.dir, watch: true, debounceMs: 20 } });
      const failed = nextEvent(engine, 'plugin.failed');

      await dir.write('greet.js', 'export default {');
      await failed;
      expect(engine.plugins.list()[0]?.error).toEqual(expect.any(String));

      await dir.write('greet.js', greet('1.0.0'));
      await expect.poll(() => engine.plugins.list()[0]?.error, { timeout: 2_000 }).toBeUndefined();
      expect(engine.plugins.list()).toEqual([
        expect.objectContaining({ version: '1.0.0', state: 'active' }),
      ]);
    });

    it('keeps the old version serving when the new one fails in setup(), removing what the failed setup registered', async () => {
      await dir.write('greet.js', greet('1.0.0'));

      const engine = await engineWith();
      const failed = nextEvent(engine, 'plugin.failed');

      await engine.plugins.load(
        await dir.write(
          'greet.js',
          greet('2.0.0', {
            setup: `
              globalThis.kefuFailedSetup = { replies: 0 };
              api.on('reply.out', () => globalThis.kefuFailedSetup.replies++);
              throw new Error('no database');`,
          }),
        ),
      );

      expect(isKefuError((await failed).error, 'CORE_PLUGIN_SETUP_FAILED')).toBe(true);
      expect(await engine.handle({ sessionId: 's', text: 'hi' })).toMatchObject({ text: 'v1.0.0' });
      expect(scratch<{ replies: number }>('kefuFailedSetup').replies).toBe(0);
    });

    it('unloads the plugin of a deleted file', async () => {
      await dir.write('greet.js', greet('1.0.0'));

      const engine = await engineWith({ plugins: { dir: dir.dir, watch: true, debounceMs: 20 } });
      const unloaded = nextEvent(engine, 'plugin.unloaded');

      await dir.remove('greet.js');

      expect(await unloaded).toMatchObject({ name: 'greet', reason: 'removed' });
      expect(engine.plugins.list()).toEqual([]);
      expect(await engine.handle({ sessionId: 's', text: 'hi' })).toMatchObject({
        reason: 'out_of_scope',
      });
    });

    it('loads a file added to the folder', async () => {
      const engine = await engineWith({ plugins: { dir: dir.dir, watch: true, debounceMs: 20 } });
      const loaded = nextEvent(engine, 'plugin.loaded');

      await dir.write('greet.js', greet('1.0.0'));

      expect(await loaded).toMatchObject({ name: 'greet', version: '1.0.0' });
    });

    it('answers 1,000 in-flight turns with exactly the old or the new version, disposing the old one after them', async () => {
      const handle = `
        const bag = (globalThis.kefuSwap ??= { running: {}, disposedWhileRunning: false });
        bag.running['v' + VERSION] = (bag.running['v' + VERSION] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, Math.random() * 20));
        bag.running['v' + VERSION]--;
        return 'v' + VERSION;`;
      const version = (v: string): string =>
        `const VERSION = '${v}';\n` +
        greet(v, {
          handle,
          dispose: `const bag = globalThis.kefuSwap; if (bag.running['v' + VERSION] > 0) bag.disposedWhileRunning = true; bag.disposed = VERSION;`,
        });

      await dir.write('greet.js', version('1.0.0'));

      const engine = await engineWith({ plugins: { dir: dir.dir, watch: true, debounceMs: 10 } });
      const errors = collect(engine, 'error');
      const loaded = nextEvent(engine, 'plugin.loaded');
      const turns = Array.from({ length: 1_000 }, (_, i) =>
        engine.handle({ sessionId: `s${i % 50}`, text: 'hi' }),
      );

      await dir.write('greet.js', version('2.0.0'));
      await loaded;

      const late = Array.from({ length: 100 }, (_, i) =>
        engine.handle({ sessionId: `late${i}`, text: 'hi' }),
      );
      const replies = await Promise.all([...turns, ...late]);
      const bag = scratch<{ disposedWhileRunning: boolean; disposed?: string }>('kefuSwap');

      for (const reply of replies) {
        expect(reply.reason).toBeUndefined();
        expect(reply.text).toBe(`v${reply.plugin?.version ?? '?'}`);
        expect(['1.0.0', '2.0.0']).toContain(reply.plugin?.version);
      }

      expect(replies.slice(1_000).every((r) => r.plugin?.version === '2.0.0')).toBe(true);
      expect(replies.some((r) => r.plugin?.version === '1.0.0')).toBe(true);
      expect(errors).toEqual([]);
      expect(bag.disposedWhileRunning).toBe(false);
      expect(bag.disposed).toBe('1.0.0');
    });
  });
});
