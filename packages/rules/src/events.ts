import type { KefuError } from '@kefu/core';

/** Payload of `rules.loaded`. */
export interface RulesLoadedEvent {
  /** The source whose rules were replaced: a file path, a plugin name, `default`. */
  source: string;
  /** The file, when the rules came from one. */
  file?: string;
  /** Rules of this source now serving (0 when the source was removed). */
  rules: number;
  /** Rules of every source now serving. */
  total: number;
  /** Validation, compilation and index build, in ms. */
  durationMs: number;
  /** Whether this replaced earlier rules of the same source. */
  reload: boolean;
}

/** Payload of `rules.failed`. */
export interface RulesFailedEvent {
  source: string;
  file?: string;
  /** The refusal; `details` names the rule, the field and the line. */
  error: KefuError;
}

/** The typed event map of a `RuleEngine`. */
export interface RulesEvents {
  /** A source's rules were validated, compiled and swapped in. */
  'rules.loaded': (event: RulesLoadedEvent) => void;
  /**
   * A watched rules file changed and was refused (unreadable, bad YAML or
   * JSON, an invalid rule); the previous rules keep serving. Errors thrown to
   * a caller (`setRules()`, `compileRules()`, the first load) are not emitted.
   */
  'rules.failed': (event: RulesFailedEvent) => void;
}

/** The event names, as a list (the README's event table is checked against it). */
export const RULES_EVENTS = [
  'rules.loaded',
  'rules.failed',
] as const satisfies readonly (keyof RulesEvents)[];
