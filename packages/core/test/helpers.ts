import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Engine, EngineEvents } from '../src/index.js';

// Plugin folders live inside the package (in git-ignored test-artifacts/)
// so that a plugin's `import '@kefu/core'` resolves as it would in a host:
// through the package's own name.
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

/** A fresh folder for plugin files, removed by `cleanup()`. */
export interface PluginDir {
  readonly dir: string;
  /** Writes a file into the folder and returns its path. */
  write(name: string, source: string): Promise<string>;
  remove(name: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function makePluginDir(): Promise<PluginDir> {
  const dir = join(ARTIFACTS, randomUUID());

  await mkdir(dir, { recursive: true });

  return {
    dir,
    async write(name, source) {
      const path = join(dir, name);

      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, source);

      return path;
    },
    remove: (name) => rm(join(dir, name), { force: true }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Options of {@link pluginSource}. */
export interface PluginSourceOptions {
  name: string;
  version?: string;
  intents?: { name: string; examples?: string[]; rules?: unknown[]; threshold?: number }[];
  /** The body of `handle(turn)`; `turn` is in scope. */
  handle?: string;
  /** The body of `detect(text, session, nlu)`, when the plugin has one. */
  detect?: string;
  /** The body of `setup(api)`. */
  setup?: string;
  /** The body of `dispose()`. */
  dispose?: string;
}

/** The source of an ES module plugin, written out as a bot author would. */
export function pluginSource(o: PluginSourceOptions): string {
  const intents = o.intents ?? [{ name: o.name, examples: [`${o.name} example`] }];
  const full = intents.map((i) => ({ examples: [`${i.name} example`], ...i }));
  const parts = [
    `name: ${JSON.stringify(o.name)}`,
    `version: ${JSON.stringify(o.version ?? '1.0.0')}`,
    `intents: ${JSON.stringify(full)}`,
    `async handle(turn) { ${o.handle ?? `return ${JSON.stringify(`${o.name} answers`)};`} }`,
  ];

  if (o.detect !== undefined) parts.push(`detect(text, session, nlu) { ${o.detect} }`);

  if (o.setup !== undefined) parts.push(`async setup(api) { ${o.setup} }`);

  if (o.dispose !== undefined) parts.push(`async dispose() { ${o.dispose} }`);

  return `export default {\n  ${parts.join(',\n  ')},\n};\n`;
}

/** Resolves with the next payload of `event` that passes `test`. */
export function nextEvent<E extends keyof EngineEvents>(
  engine: Engine,
  event: E,
  test: (payload: EngineEvents[E]) => boolean = () => true,
): Promise<EngineEvents[E]> {
  return new Promise((resolve) => {
    const listener = (payload: EngineEvents[E]): void => {
      if (!test(payload)) return;

      engine.off(event, listener);
      resolve(payload);
    };

    engine.on(event, listener);
  });
}

/** Collects every payload of `event` into an array. */
export function collect<E extends keyof EngineEvents>(engine: Engine, event: E): EngineEvents[E][] {
  const out: EngineEvents[E][] = [];

  engine.on(event, (payload) => out.push(payload));

  return out;
}

/** A shared scratchpad between a test and the plugins it loads (same process). */
export function scratch<T = Record<string, unknown>>(key: string): T {
  const bag = globalThis as unknown as Record<string, unknown>;

  bag[key] ??= {};

  return bag[key] as T;
}
