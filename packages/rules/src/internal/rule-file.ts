import { readFile } from 'node:fs/promises';
import { isMap, LineCounter, parseDocument } from 'yaml';
import type { Node } from 'yaml';
import { ruleError } from '../errors.js';

/** A rules file, read and parsed, not yet validated. */
export interface RuleFile {
  file: string;
  /** The raw text, to skip reloads that change nothing. */
  text: string;
  specs: unknown[];
  /** Path of the rule list inside the document: `[]` or `['rules']`. */
  prefix: string[];
  /** Line and column (1-based) of the node at `path`, or of its nearest parent. */
  locate(path: readonly (string | number)[]): { line: number; column: number } | undefined;
}

/**
 * Reads and parses a YAML or JSON rules file (JSON is read as YAML, whose
 * parser gives line numbers for both). The document is either a list of
 * rules or an object with one `rules` list.
 *
 * @throws KefuError `RULES_FILE_NOT_FOUND`, `RULES_PARSE_FAILED`, `RULES_INVALID`
 */
export async function readRuleFile(file: string): Promise<RuleFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    throw ruleError(
      'RULES_FILE_NOT_FOUND',
      `the file cannot be read (${code})`,
      { source: file, file, path: [] },
      err,
    );
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const failure = doc.errors[0];
  if (failure !== undefined) {
    const pos = failure.linePos?.[0];
    const details = {
      source: file,
      file,
      path: [],
      ...(pos && { line: pos.line, column: pos.col }),
    };
    throw ruleError(
      'RULES_PARSE_FAILED',
      `not valid YAML or JSON: ${failure.code}`,
      details,
      failure,
    );
  }

  const locate = (
    path: readonly (string | number)[],
  ): { line: number; column: number } | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = (n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)) as
        Node | null | undefined;
      const offset = node?.range?.[0];
      if (offset !== undefined) {
        const pos = lineCounter.linePos(offset);
        return { line: pos.line, column: pos.col };
      }
    }
    return undefined;
  };

  const data: unknown = doc.toJS();
  if (data === null || data === undefined) {
    // Editors often truncate a file before writing it: an empty document is
    // refused rather than read as "no rules".
    throw ruleError('RULES_PARSE_FAILED', 'the file is empty (write `rules: []` for no rules)', {
      source: file,
      file,
      path: [],
    });
  }
  if (Array.isArray(data)) return { file, text, specs: data, prefix: [], locate };

  const place = (path: string[], problem: string): never => {
    const pos = locate(path);
    const details = {
      source: file,
      file,
      path,
      field: path.join('.'),
      ...(pos && { line: pos.line, column: pos.column }),
    };
    throw ruleError('RULES_INVALID', problem, details);
  };

  if (!isMap(doc.contents)) place([], 'expected a list of rules or an object with a `rules` list');
  for (const key of Object.keys(data as object)) {
    if (key !== 'rules') place([key], `unknown top-level field "${key}"`);
  }
  const rules = (data as { rules?: unknown }).rules;
  if (!Array.isArray(rules)) place(['rules'], '`rules` must be a list');

  return { file, text, specs: rules as unknown[], prefix: ['rules'], locate };
}
