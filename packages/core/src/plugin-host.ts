import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { KefuError, isKefuError } from './errors.js';
import type { ListenedEmitter } from './internal/listened-emitter.js';
import { checkPlugin } from './internal/plugin-schema.js';
import { nativeImport } from './internal/native-import.js';
import { isTypeScript, transpilePlugin } from './internal/transpile.js';
import type { Logger } from './logger.js';
import type {
  EngineEvents,
  Plugin,
  PluginApi,
  PluginInfo,
  RuleMatcher,
  RuleSpec,
  TrainingExample,
} from './types.js';

/** The typed emitter the engine and its parts share. */
export type EngineEmitter = ListenedEmitter<{ [E in keyof EngineEvents]: [EngineEvents[E]] }>;

type AnyListener = (payload: never) => void;

/** One loaded version of a plugin: what the dispatcher runs. */
export interface PluginVersion {
  readonly plugin: Plugin;
  readonly name: string;
  readonly version: string;
  readonly file: string | null;
  /** The plugin's first intent: what a plain number from `detect()` scores. */
  readonly firstIntent: string;
  readonly intentNames: ReadonlySet<string>;
  /** `{ name, version }`, shared by every reply this version gives. */
  readonly ref: Readonly<{ name: string; version: string }>;
  readonly hash: string;
  readonly rules: RuleSpec[];
  listeners: [keyof EngineEvents, AnyListener][];
  timers: NodeJS.Timeout[];
  disposers: (() => void | Promise<void>)[];
  disposed: Promise<void>;
  markDisposed: () => void;
}

/** Where an intent is answered, with its threshold override. */
export interface IntentRoute {
  readonly owner: PluginVersion;
  readonly threshold: number | undefined;
}

/**
 * An immutable view of the active plugins. A turn takes the current one when
 * it starts deciding and keeps it to the end, so a hot swap never changes
 * the plugins under a turn; old versions are disposed once every registry
 * that holds them has no turn left in flight.
 */
export interface PluginRegistry {
  readonly seq: number;
  readonly versions: readonly PluginVersion[];
  readonly detectors: readonly PluginVersion[];
  readonly routes: ReadonlyMap<string, IntentRoute>;
  inflight: number;
}

interface FileRecord {
  /** The plugin this file serves. */
  name: string | undefined;
  /** The name the file's last failed version claimed, when it got that far. */
  failedName: string | undefined;
  hash: string | undefined;
  error: string | undefined;
}

/** Options of {@link PluginHost}. */
export interface PluginHostOptions {
  emitter: EngineEmitter;
  logger: Logger;
  rules: RuleMatcher | undefined;
  debounceMs: number;
  /** Called after every change of the active plugins (for retraining). */
  onChange: () => void;
}

const PLUGIN_EXTENSIONS = new Set(['.js', '.mjs', '.ts', '.mts']);

/** Whether a folder entry looks like a plugin module. */
export function isPluginFileName(name: string): boolean {
  if (name.startsWith('.') || name.startsWith('_')) return false;

  if (name.endsWith('.d.ts') || name.endsWith('.d.mts')) return false;

  if (/\.(test|spec)\.[mc]?[jt]s$/.test(name)) return false;

  return PLUGIN_EXTENSIONS.has(extname(name));
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function buildRegistry(seq: number, versions: readonly PluginVersion[]): PluginRegistry {
  const routes = new Map<string, IntentRoute>();

  for (const owner of versions) {
    for (const intent of owner.plugin.intents) {
      routes.set(intent.name, { owner, threshold: intent.threshold });
    }
  }

  return {
    seq,
    versions,
    detectors: versions.filter((v) => typeof v.plugin.detect === 'function'),
    routes,
    inflight: 0,
  };
}

/**
 * Loads plugins with Node's own `import()`, validates them, sets them up and
 * swaps them in atomically; watches a folder for hot reload.
 *
 * Known limit: `import()` never frees a module, so every reload keeps the old
 * version's code in memory (a few KB per reload, see the README).
 */
export class PluginHost {
  readonly #options: PluginHostOptions;
  readonly #active = new Map<string, PluginVersion>();
  readonly #files = new Map<string, FileRecord>();
  readonly #draining = new Set<PluginRegistry>();
  #pending: { version: PluginVersion; until: number }[] = [];
  #current: PluginRegistry;
  #seq = 0;
  #imports = 0;
  #ops: Promise<unknown> = Promise.resolve();
  #watcher: FSWatcher | undefined;
  readonly #debounce = new Map<string, NodeJS.Timeout>();
  #closed = false;

  constructor(options: PluginHostOptions) {
    this.#options = options;
    this.#current = buildRegistry(0, []);
  }

  /** The registry a turn should use; pair with {@link release}. */
  acquire(): PluginRegistry {
    const registry = this.#current;

    registry.inflight++;

    return registry;
  }

  release(registry: PluginRegistry): void {
    if (
      --registry.inflight === 0 &&
      registry !== this.#current &&
      this.#draining.delete(registry)
    ) {
      this.#flushDisposals();
    }
  }

  /** The current registry, without holding it. */
  get current(): PluginRegistry {
    return this.#current;
  }

  /** The union of the active plugins' training examples. */
  examples(): TrainingExample[] {
    const out: TrainingExample[] = [];

    for (const version of this.#current.versions) {
      for (const intent of version.plugin.intents) {
        for (const text of intent.examples) out.push({ text, intent: intent.name });
      }
    }

    return out;
  }

  list(): PluginInfo[] {
    const out: PluginInfo[] = [];
    const listed = new Set<string>();

    for (const version of this.#active.values()) {
      const record = version.file === null ? undefined : this.#files.get(version.file);
      const info: PluginInfo = {
        name: version.name,
        version: version.version,
        state: 'active',
        file: version.file,
      };

      if (record?.error !== undefined) info.error = record.error;

      out.push(info);
      listed.add(version.name);
    }

    for (const [file, record] of this.#files) {
      if (record.error === undefined) continue;

      if (
        record.name !== undefined &&
        listed.has(record.name) &&
        this.#active.get(record.name)?.file === file
      ) {
        continue;
      }

      out.push({
        name: record.failedName ?? record.name ?? basename(file),
        version: '',
        state: 'failed',
        file,
        error: record.error,
      });
    }

    return out;
  }

  /** Loads the plugin files and folder given at start-up, then watches the folder if asked. */
  async start(
    files: readonly string[],
    dir: string | undefined,
    isWatching: boolean,
  ): Promise<void> {
    const all = files.map((file) => resolve(file));

    if (dir !== undefined) {
      const folder = resolve(dir);
      const names = await readdir(folder).catch((error: unknown) => {
        throw new KefuError('CORE_OPTIONS_INVALID', `plugins.dir: cannot read folder ${folder}`, {
          cause: error,
        });
      });

      for (const name of names.sort()) {
        if (isPluginFileName(name)) all.push(resolve(folder, name));
      }

      if (isWatching) this.#watch(folder);
    }

    // A file given in `files` may also sit in `dir`: load it once.
    for (const file of new Set(all)) await this.load(file, true);
  }

  /** Imports a plugin file (again) and swaps it in; failures are reported, not thrown. */
  load(file: string, force = true): Promise<PluginInfo> {
    const path = resolve(file);

    return this.#enqueue(() => this.#load(path, force));
  }

  /** Unloads the plugin named `name` and waits until its version is disposed. */
  unload(name: string): Promise<void> {
    return this.#enqueue(async () => {
      const version = this.#active.get(name);

      if (version === undefined) {
        throw new KefuError('CORE_PLUGIN_NOT_FOUND', `no plugin named "${name}" is loaded`);
      }

      this.#remove(version, 'removed');
      if (version.file !== null) this.#files.delete(version.file);
      await version.disposed;
    });
  }

  #enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#ops.then(op, op);

    this.#ops = run.catch(() => undefined);

    return run;
  }

  async #load(file: string, force: boolean): Promise<PluginInfo> {
    const record = this.#files.get(file) ?? {
      name: undefined,
      failedName: undefined,
      hash: undefined,
      error: undefined,
    };

    this.#files.set(file, record);

    try {
      const source = await readFile(file).catch((cause: unknown) => {
        throw new KefuError('CORE_PLUGIN_LOAD_FAILED', `cannot read plugin file ${file}`, {
          cause,
        });
      });
      const hash = createHash('sha1').update(source).digest('hex');
      const current = record.name === undefined ? undefined : this.#active.get(record.name);

      // Editors often fire several events for one save, or save a file back
      // to what is loaded: nothing to reload then, and no error left over.
      if (!force && current !== undefined && current.file === file && current.hash === hash) {
        record.error = undefined;
        record.failedName = undefined;

        return this.#info(current);
      }

      const plugin = await this.#import(file);
      const version = this.#prepare(plugin, file, hash);
      const previous = this.#active.get(version.name);

      this.#checkConflicts(version, file, record);
      this.#applyRules(version, previous);
      await this.#setup(version, previous);

      // A file that now exports a plugin under another name retires the old name.
      const renamed =
        record.name !== undefined && record.name !== version.name
          ? this.#active.get(record.name)
          : undefined;

      record.name = version.name;
      record.hash = hash;
      record.error = undefined;
      record.failedName = undefined;
      this.#swap(version, previous, renamed);

      return this.#info(version);
    } catch (error) {
      return this.#fail(file, record, error);
    }
  }

  async #import(file: string): Promise<unknown> {
    let target = file;

    if (isTypeScript(file)) {
      target = await transpilePlugin(file).catch((cause: unknown) => {
        throw new KefuError(
          'CORE_PLUGIN_LOAD_FAILED',
          `cannot transpile ${file}: ${errorMessage(cause)}`,
          { cause },
        );
      });
    }

    // A new query string makes Node import the file again instead of
    // handing back the cached module of an earlier version.
    const url = `${pathToFileURL(target).href}?v=${++this.#imports}`;
    let module: Record<string, unknown>;

    try {
      module = await nativeImport(url);
    } catch (cause) {
      throw new KefuError(
        'CORE_PLUGIN_LOAD_FAILED',
        `cannot import ${file}: ${errorMessage(cause)}`,
        { cause },
      );
    }

    return module.default;
  }

  #prepare(value: unknown, file: string, hash: string): PluginVersion {
    const check = checkPlugin(value);

    if (!check.ok) {
      const name = (value as { name?: unknown } | null)?.name;

      throw new KefuError('CORE_PLUGIN_INVALID', `invalid plugin in ${file}: ${check.reason}`, {
        details:
          typeof name === 'string'
            ? { file, name, issues: check.issues }
            : { file, issues: check.issues },
      });
    }

    const plugin = check.plugin;
    const rules: RuleSpec[] = [];

    for (const intent of plugin.intents) {
      intent.rules?.forEach((spec, i) => {
        rules.push({
          id: `${plugin.name}:${intent.name}:${i}`,
          ...spec,
          intent: spec.intent ?? intent.name,
        });
      });
    }

    let markDisposed = (): void => {};
    const disposed = new Promise<void>((done) => {
      markDisposed = done;
    });

    return {
      plugin,
      name: plugin.name,
      version: plugin.version,
      file,
      firstIntent: plugin.intents[0]?.name ?? '',
      intentNames: new Set(plugin.intents.map((intent) => intent.name)),
      ref: Object.freeze({ name: plugin.name, version: plugin.version }),
      hash,
      rules,
      listeners: [],
      timers: [],
      disposers: [],
      disposed,
      markDisposed,
    };
  }

  #checkConflicts(version: PluginVersion, file: string, record: FileRecord): void {
    const same = this.#active.get(version.name);

    if (same !== undefined && same.file !== file) {
      throw new KefuError(
        'CORE_PLUGIN_DUPLICATE',
        `plugin "${version.name}" in ${file} is already loaded from ${same.file ?? 'another source'}`,
        { details: { file, name: version.name } },
      );
    }

    for (const other of this.#active.values()) {
      if (other.name === version.name || other.name === record.name) continue;

      for (const intent of version.intentNames) {
        if (other.intentNames.has(intent)) {
          throw new KefuError(
            'CORE_PLUGIN_DUPLICATE',
            `intent "${intent}" of plugin "${version.name}" is already answered by plugin "${other.name}"`,
            { details: { file, name: version.name, intent } },
          );
        }
      }
    }
  }

  #applyRules(version: PluginVersion, previous: PluginVersion | undefined): void {
    const rules = this.#options.rules;

    if (rules?.setRules === undefined) return;

    if (version.rules.length === 0 && (previous === undefined || previous.rules.length === 0))
      return;

    try {
      rules.setRules(version.name, version.rules);
    } catch (cause) {
      throw new KefuError(
        'CORE_PLUGIN_INVALID',
        `rules of plugin "${version.name}" were refused: ${errorMessage(cause)}`,
        {
          cause,
          details: { name: version.name },
        },
      );
    }
  }

  #restoreRules(version: PluginVersion, previous: PluginVersion | undefined): void {
    const rules = this.#options.rules;

    if (rules?.setRules === undefined) return;

    if (version.rules.length === 0 && (previous === undefined || previous.rules.length === 0))
      return;

    try {
      rules.setRules(version.name, previous?.rules ?? []);
    } catch (error) {
      this.#options.emitter.emit('error', { error, plugin: version.name });
    }
  }

  async #setup(version: PluginVersion, previous: PluginVersion | undefined): Promise<void> {
    const setup = version.plugin.setup;

    if (setup === undefined) return;

    try {
      await setup.call(version.plugin, this.#api(version));
    } catch (cause) {
      await this.#cleanup(version, false);
      this.#restoreRules(version, previous);
      throw new KefuError(
        'CORE_PLUGIN_SETUP_FAILED',
        `setup() of plugin "${version.name}" failed: ${errorMessage(cause)}`,
        {
          cause,
          details: { name: version.name },
        },
      );
    }
  }

  #api(version: PluginVersion): PluginApi {
    const emitter = this.#options.emitter;

    return {
      name: version.name,
      version: version.version,
      logger: this.#options.logger.child({ pluginId: version.name, version: version.version }),
      on(event, listener) {
        emitter.on(event, listener as never);
        version.listeners.push([event, listener as AnyListener]);
      },
      setTimeout(fn, ms) {
        const timer = setTimeout(fn, ms);

        timer.unref();
        version.timers.push(timer);
      },
      setInterval(fn, ms) {
        const timer = setInterval(fn, ms);

        timer.unref();
        version.timers.push(timer);
      },
      onDispose(fn) {
        version.disposers.push(fn);
      },
    };
  }

  #swap(
    version: PluginVersion,
    previous: PluginVersion | undefined,
    renamed: PluginVersion | undefined,
  ): void {
    const emitter = this.#options.emitter;

    this.#active.set(version.name, version);

    if (renamed !== undefined) {
      this.#active.delete(renamed.name);
      this.#forgetRules(renamed);
    }

    const retired = [previous, renamed].filter((v): v is PluginVersion => v !== undefined);

    this.#replaceRegistry(retired);

    if (previous !== undefined) {
      emitter.emit('plugin.unloaded', {
        name: previous.name,
        version: previous.version,
        file: previous.file,
        reason: 'replaced',
      });
    }

    if (renamed !== undefined) {
      emitter.emit('plugin.unloaded', {
        name: renamed.name,
        version: renamed.version,
        file: renamed.file,
        reason: 'removed',
      });
    }

    const loaded: EngineEvents['plugin.loaded'] = {
      name: version.name,
      version: version.version,
      file: version.file,
    };

    if (previous !== undefined) loaded.previousVersion = previous.version;

    this.#options.logger.info(
      { pluginId: version.name, version: version.version, file: version.file },
      'plugin loaded',
    );
    emitter.emit('plugin.loaded', loaded);
    this.#options.onChange();
  }

  #remove(version: PluginVersion, reason: 'removed' | 'closed'): void {
    this.#active.delete(version.name);

    if (reason === 'removed') this.#forgetRules(version);

    this.#replaceRegistry([version]);
    this.#options.logger.info(
      { pluginId: version.name, version: version.version, reason },
      'plugin unloaded',
    );
    this.#options.emitter.emit('plugin.unloaded', {
      name: version.name,
      version: version.version,
      file: version.file,
      reason,
    });

    if (reason === 'removed') this.#options.onChange();
  }

  #forgetRules(version: PluginVersion): void {
    const rules = this.#options.rules;

    if (rules?.setRules === undefined || version.rules.length === 0) return;

    try {
      rules.setRules(version.name, []);
    } catch (error) {
      this.#options.emitter.emit('error', { error, plugin: version.name });
    }
  }

  #replaceRegistry(retired: readonly PluginVersion[]): void {
    const old = this.#current;

    this.#current = buildRegistry(++this.#seq, [...this.#active.values()]);

    if (old.inflight > 0) this.#draining.add(old);

    for (const version of retired) this.#pending.push({ version, until: old.seq });

    this.#flushDisposals();
  }

  #flushDisposals(): void {
    let oldest = Infinity;

    for (const registry of this.#draining) oldest = Math.min(oldest, registry.seq);

    const ready = this.#pending.filter((entry) => entry.until < oldest);

    if (ready.length === 0) return;

    this.#pending = this.#pending.filter((entry) => entry.until >= oldest);

    for (const entry of ready) void this.#cleanup(entry.version, true);
  }

  async #cleanup(version: PluginVersion, callDispose: boolean): Promise<void> {
    const emitter = this.#options.emitter;

    for (const [event, listener] of version.listeners) emitter.off(event, listener as never);

    for (const timer of version.timers) clearTimeout(timer);

    version.listeners = [];
    version.timers = [];

    const disposers = version.disposers;

    version.disposers = [];

    try {
      for (const fn of disposers) await fn();

      if (callDispose) await version.plugin.dispose?.();
    } catch (error) {
      emitter.emit('error', { error, plugin: version.name });
    } finally {
      if (callDispose) version.markDisposed();
    }
  }

  #fail(file: string, record: FileRecord, error: unknown): PluginInfo {
    const wrapped = isKefuError(error)
      ? error
      : new KefuError(
          'CORE_PLUGIN_LOAD_FAILED',
          `plugin ${file} failed to load: ${errorMessage(error)}`,
          { cause: error },
        );
    const name = (wrapped.details?.name as string | undefined) ?? record.name;
    const payload: EngineEvents['plugin.failed'] = { file, error: wrapped };

    if (name !== undefined) payload.name = name;

    record.error = wrapped.message;
    record.failedName = name;
    this.#options.logger.warn({ err: wrapped, file, pluginId: name }, 'plugin failed to load');
    this.#options.emitter.emit('plugin.failed', payload);

    const serving = record.name === undefined ? undefined : this.#active.get(record.name);

    if (serving !== undefined && serving.file === file)
      return { ...this.#info(serving), error: wrapped.message };

    return {
      name: name ?? basename(file),
      version: '',
      state: 'failed',
      file,
      error: wrapped.message,
    };
  }

  #info(version: PluginVersion): PluginInfo {
    return { name: version.name, version: version.version, state: 'active', file: version.file };
  }

  #watch(folder: string): void {
    // Editors save by writing a temporary file and renaming it over the old
    // one, which fires several events (sometimes with the file briefly
    // missing); waiting for the events to settle and then looking at the
    // file as it is gives one reload per save.
    this.#watcher = watch(folder, { persistent: false }, (_event, name) => {
      if (typeof name !== 'string' || !isPluginFileName(name)) return;

      const path = resolve(folder, name);
      const pending = this.#debounce.get(path);

      if (pending !== undefined) clearTimeout(pending);

      const timer = setTimeout(() => {
        this.#debounce.delete(path);
        void this.#sync(path);
      }, this.#options.debounceMs);

      this.#debounce.set(path, timer);
    });
    this.#watcher.on('error', (error) => this.#options.emitter.emit('error', { error }));
  }

  async #sync(file: string): Promise<void> {
    if (this.#closed) return;

    const exists = await stat(file).then(
      (info) => info.isFile(),
      () => false,
    );

    if (exists) {
      await this.load(file, false);

      return;
    }

    await this.#enqueue(async () => {
      const record = this.#files.get(file);

      if (record === undefined) return;

      this.#files.delete(file);

      const version = record.name === undefined ? undefined : this.#active.get(record.name);

      if (version !== undefined && version.file === file) this.#remove(version, 'removed');
    });
  }

  /** Stops watching, unloads every plugin and waits for their disposal. */
  async close(): Promise<void> {
    if (this.#closed) return;

    this.#closed = true;
    this.#watcher?.close();

    for (const timer of this.#debounce.values()) clearTimeout(timer);

    this.#debounce.clear();
    await this.#enqueue(async () => {
      const versions = [...this.#active.values()];

      for (const version of versions) this.#remove(version, 'closed');

      await Promise.all(versions.map((version) => version.disposed));
    });
  }
}
