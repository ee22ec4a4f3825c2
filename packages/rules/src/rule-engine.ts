import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { isKefuError, KefuError, silentLogger } from '@kefu/core';
import type { Logger, RuleCandidate, RuleMatcher, SessionView } from '@kefu/core';
import type { z } from 'zod';
import { replaceError, ruleError } from './errors.js';
import type { RuleErrorDetails } from './errors.js';
import type { RulesEvents } from './events.js';
import { compileSource } from './internal/compile-rule.js';
import type { CompiledRule } from './internal/compile-rule.js';
import { readRuleFile } from './internal/rule-file.js';
import type { RuleFile } from './internal/rule-file.js';
import { RuleIndex } from './internal/rule-index.js';
import {
  loadFileOptionsSchema,
  loadRulesOptionsSchema,
  ruleEngineOptionsSchema,
} from './schema.js';
import type { LoadFileOptions, LoadRulesOptions, RuleEngineOptions } from './schema.js';

function parseOptions<S extends z.ZodType>(schema: S, options: unknown): z.output<S> {
  const parsed = schema.safeParse(options ?? {});
  if (parsed.success) return parsed.data;

  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join('.') || '(options)';
  throw new KefuError(
    'RULES_OPTIONS_INVALID',
    `option "${field}": ${issue?.message ?? 'invalid'}`,
    {
      cause: parsed.error,
      details: { field, issues: parsed.error.issues },
    },
  );
}

/** A summary of what an engine serves, for logs and tests. */
export interface RuleEngineStats {
  rules: number;
  sources: number;
  /** Distinct word stems in the index. */
  words: number;
  /** Distinct CJK terms and regex prefilter literals in the automaton. */
  charPatterns: number;
  fuzzyTerms: number;
  /** Distinct regular expressions, and those with no prefilter (run on every message). */
  regexes: number;
  ungatedRegexes: number;
}

/**
 * The rule engine: rules from any number of sources (a list given to
 * `compileRules()`, watched files, plugins through `setRules()`), compiled
 * into one index and matched against English, Chinese and mixed text.
 * Implements `RuleMatcher` of `@kefu/core`.
 */
export class RuleEngine extends EventEmitter<RulesEvents> implements RuleMatcher {
  readonly #logger: Logger;
  readonly #limit: number;
  readonly #maxTextLength: number;
  readonly #sources = new Map<string, CompiledRule[]>();
  readonly #closers = new Set<() => void>();
  #index = new RuleIndex([]);
  #closed = false;

  /** @throws KefuError `RULES_OPTIONS_INVALID` */
  constructor(options: RuleEngineOptions = {}) {
    super();
    const opts = parseOptions(ruleEngineOptionsSchema, options);

    this.#logger = opts.logger ?? silentLogger;
    this.#limit = opts.limit;
    this.#maxTextLength = opts.maxTextLength;
  }

  /** Number of rules serving, over all sources. */
  get size(): number {
    return this.#index.rules.length;
  }

  /** The sources with rules, in the order they were first set. */
  sources(): string[] {
    return [...this.#sources.keys()];
  }

  stats(): RuleEngineStats {
    return { ...this.#index.stats, sources: this.#sources.size };
  }

  /**
   * Ranks the intents whose rules match `text`, best first, one candidate
   * per intent (its best rule), at most `limit` of them. Each candidate
   * carries the rule id, `why` (what matched, with offsets into `text`) and
   * the rule's reply template filled in. Synchronous.
   */
  match(text: string, session?: SessionView): RuleCandidate[] {
    // Known limit: only the first `maxTextLength` characters are matched, so
    // a keyword past that point in a very long message is not seen.
    const input = text.length > this.#maxTextLength ? text.slice(0, this.#maxTextLength) : text;

    return this.#index.match(input, session, this.#limit);
  }

  /**
   * Replaces the rules of one source (a plugin's name, say); an empty list
   * removes them. On a bad spec nothing changes and the error is thrown.
   *
   * @throws KefuError `RULES_INVALID`, `RULES_UNSAFE_REGEX`, `RULES_DUPLICATE_ID`
   */
  setRules(source: string, specs: readonly Record<string, unknown>[]): void {
    this.#replace(source, specs, undefined);
  }

  /**
   * Loads a YAML or JSON rules file as the source named by its absolute
   * path, and with `watch` reloads it when it changes. A reload that fails
   * emits `rules.failed` and logs a warning; the previous rules keep serving.
   *
   * @throws KefuError `RULES_FILE_NOT_FOUND`, `RULES_PARSE_FAILED`, `RULES_INVALID`,
   *   `RULES_UNSAFE_REGEX`, `RULES_DUPLICATE_ID`, `RULES_OPTIONS_INVALID`
   */
  async loadFile(file: string, options: LoadFileOptions = {}): Promise<void> {
    const opts = parseOptions(loadFileOptionsSchema, options);
    const path = resolve(file);

    this.#applyFile(await readRuleFile(path));
    if (opts.watch) this.#watch(path, opts.debounceMs);
  }

  /**
   * Stops watching files; files loaded afterwards are not watched. The rules
   * loaded so far keep matching.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const close of this.#closers) close();
    this.#closers.clear();
  }

  #replace(source: string, specs: readonly unknown[], file: RuleFile | undefined): void {
    const started = performance.now();
    const compiled = compileSource(specs, source);
    const sources = new Map(this.#sources);

    if (compiled.length === 0) sources.delete(source);
    else sources.set(source, compiled);

    const index = new RuleIndex([...sources.values()].flat());
    const reload = this.#sources.has(source);
    this.#sources.clear();
    for (const [name, rules] of sources) this.#sources.set(name, rules);
    this.#index = index;

    const event = {
      source,
      rules: compiled.length,
      total: index.rules.length,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      reload,
    };
    this.#logger.info({ ...event, file: file?.file }, 'rules loaded');
    this.emit('rules.loaded', file === undefined ? event : { ...event, file: file.file });
  }

  #applyFile(file: RuleFile): void {
    try {
      this.#replace(file.file, file.specs, file);
    } catch (err) {
      if (!isKefuError(err)) throw err;

      // Place the error in the file: its path, and the line of the field.
      const inner = (err.details as RuleErrorDetails | undefined) ?? {
        source: file.file,
        path: [],
      };
      const path = [...file.prefix, ...inner.path];
      const pos = file.locate(path);
      const details: RuleErrorDetails = { ...inner, source: file.file, file: file.file, path };
      if (pos !== undefined) {
        details.line = pos.line;
        details.column = pos.column;
      }
      throw replaceError(err, details);
    }
  }

  #watch(path: string, debounceMs: number): void {
    if (this.#closed) return;
    const base = basename(path);
    let timer: NodeJS.Timeout | undefined;
    let queue = Promise.resolve();
    let watcher: FSWatcher;

    const reload = async (): Promise<void> => {
      if (this.#closed) return;
      try {
        const file = await readRuleFile(path);
        if (this.#closed) return;
        this.#applyFile(file);
      } catch (err) {
        const error = isKefuError(err)
          ? err
          : ruleError(
              'RULES_PARSE_FAILED',
              'the file could not be loaded',
              { source: path, file: path, path: [] },
              err,
            );
        const d = error.details as RuleErrorDetails | undefined;
        this.#logger.warn(
          {
            file: path,
            ruleId: d?.ruleId,
            field: d?.field,
            line: d?.line,
            code: error.code,
            err: error,
          },
          'rules file refused; the previous rules keep serving',
        );
        this.emit('rules.failed', { source: path, file: path, error });
      }
    };

    try {
      // The folder is watched, not the file: editors save by writing a new
      // file and renaming it over the old one, which ends a watch on the file.
      watcher = watch(dirname(path), (_event, name) => {
        if (name !== null && name !== base) return;
        clearTimeout(timer);
        timer = setTimeout(() => {
          queue = queue.then(reload);
        }, debounceMs);
        timer.unref();
      });
    } catch (err) {
      throw ruleError(
        'RULES_FILE_NOT_FOUND',
        'the folder of the file cannot be watched',
        { source: path, file: path, path: [] },
        err,
      );
    }
    watcher.on('error', (err) => {
      const error = ruleError(
        'RULES_FILE_NOT_FOUND',
        'watching the file failed',
        { source: path, file: path, path: [] },
        err,
      );
      this.#logger.warn(
        { file: path, err: error },
        'rules file watch failed; the previous rules keep serving',
      );
      this.emit('rules.failed', { source: path, file: path, error });
    });
    watcher.unref();

    this.#closers.add(() => {
      clearTimeout(timer);
      watcher.close();
    });
  }
}

/**
 * Compiles a list of rule specs into a rule engine.
 *
 * @example
 * ```ts
 * const rules = compileRules([
 *   { id: 'human', intent: 'handoff', match: { any: ['转人工', 'agent'] } },
 * ]);
 * rules.match('我要转人工');
 * // [{ intent: 'handoff', score: 0.69, ruleId: 'human', why: 'keyword "转人工" at 2-5' }]
 * ```
 * @throws KefuError `RULES_INVALID`, `RULES_UNSAFE_REGEX`, `RULES_DUPLICATE_ID`,
 *   `RULES_OPTIONS_INVALID`
 */
export function compileRules(
  specs: readonly Record<string, unknown>[],
  options: RuleEngineOptions = {},
): RuleEngine {
  const engine = new RuleEngine(options);
  const source = ruleEngineOptionsSchema.shape.source.parse(options.source);

  engine.setRules(source, specs);
  return engine;
}

/**
 * Loads a YAML or JSON rules file into a new rule engine; with `watch: true`
 * the file is reloaded when it changes (see {@link RuleEngine.loadFile}).
 *
 * @throws KefuError `RULES_FILE_NOT_FOUND`, `RULES_PARSE_FAILED`, `RULES_INVALID`,
 *   `RULES_UNSAFE_REGEX`, `RULES_DUPLICATE_ID`, `RULES_OPTIONS_INVALID`
 */
export async function loadRules(file: string, options: LoadRulesOptions = {}): Promise<RuleEngine> {
  const {
    watch: isWatched,
    debounceMs,
    ...engineOptions
  } = parseOptions(loadRulesOptionsSchema, options);
  const engine = new RuleEngine(engineOptions);

  await engine.loadFile(file, { watch: isWatched, debounceMs });
  return engine;
}
