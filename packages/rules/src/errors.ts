import { KefuError } from '@kefu/core';
import type { KefuErrorCode } from '@kefu/core';
import type { z } from 'zod';

/** Where in a rule set a problem was found; carried in `KefuError.details`. */
export interface RuleErrorDetails extends Record<string, unknown> {
  /** The rule source: a file path, a plugin name, or `default`. */
  source: string;
  /** The file, when the rules came from one. */
  file?: string;
  /** Position of the rule in its source's list. */
  index?: number;
  ruleId?: string;
  /** The field, as a dotted path inside the rule (`match.regex.0`). */
  field?: string;
  /** The full path inside the source (zod's issue path). */
  path: (string | number)[];
  /** 1-based line and column in the file, where the parser gives one. */
  line?: number;
  column?: number;
  issues?: { path: (string | number)[]; message: string; code: string }[];
}

/** Where a problem sits: a source, and optionally a rule and a path in it. */
export interface ErrorPlace {
  source: string;
  index?: number;
  ruleId?: string;
  /** Path inside the rule (without the index). */
  path?: (string | number)[];
}

function describePlace(details: RuleErrorDetails): string {
  const where: string[] = [
    details.file === undefined ? `source "${details.source}"` : `file "${details.file}"`,
  ];

  if (details.ruleId !== undefined) where.push(`rule "${details.ruleId}"`);
  else if (details.index !== undefined) where.push(`rule #${details.index}`);
  if (details.field !== undefined && details.field !== '') where.push(`field "${details.field}"`);
  if (details.line !== undefined) where.push(`line ${details.line}`);

  return where.join(', ');
}

/** Builds the details of an error at `place`. */
export function placeDetails(place: ErrorPlace): RuleErrorDetails {
  const inner = place.path ?? [];
  const details: RuleErrorDetails = {
    source: place.source,
    path: place.index === undefined ? inner : [place.index, ...inner],
  };

  if (place.index !== undefined) details.index = place.index;
  if (place.ruleId !== undefined) details.ruleId = place.ruleId;
  if (place.index !== undefined || inner.length > 0) details.field = inner.join('.');

  return details;
}

/** A `KefuError` whose message names the source, rule, field and line. */
export function ruleError(
  code: KefuErrorCode,
  problem: string,
  details: RuleErrorDetails,
  cause?: unknown,
): KefuError {
  return new KefuError(code, `${describePlace(details)}: ${problem}`, { cause, details });
}

/** The same error, placed again (with a file and a line, say). */
export function replaceError(err: KefuError, details: RuleErrorDetails): KefuError {
  const problem = err.message.slice(err.message.indexOf(': ') + 2);

  return ruleError(err.code, problem, details, err.cause);
}

/** Turns a zod failure on one rule into `RULES_INVALID`, placed at its first issue. */
export function fromZod(error: z.ZodError, place: ErrorPlace): KefuError {
  const issues = error.issues.map((i) => ({
    path: i.path.map((p) => (typeof p === 'number' ? p : String(p))),
    message: i.message,
    code: i.code,
  }));
  const first = error.issues[0];
  const path = (first?.path ?? []).map((p) => (typeof p === 'number' ? p : String(p)));

  // An unknown field is reported at the field itself, not at its parent.
  if (first?.code === 'unrecognized_keys' && first.keys[0] !== undefined) path.push(first.keys[0]);

  const details = placeDetails({ ...place, path });
  details.issues = issues;

  return ruleError('RULES_INVALID', first?.message ?? 'invalid rule', details, error);
}
