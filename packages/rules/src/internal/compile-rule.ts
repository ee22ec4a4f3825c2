import { createRequire } from 'node:module';
import { hasCjk, tokenize } from '@kefu/core';
import type { KefuError } from '@kefu/core';
import { placeDetails, ruleError, fromZod } from '../errors.js';
import type { ErrorPlace } from '../errors.js';
import { ruleSpecSchema } from '../schema.js';
import type { ValidRuleSpec } from '../schema.js';
import { foldTerm } from './fold.js';
import { maxEdits } from './fuzzy-index.js';
import { regexGate } from './regex-gate.js';
import type { RegexGate } from './regex-gate.js';
import { parseTemplate, TemplateSyntaxError, templateRefs } from './template.js';
import type { TemplatePart } from './template.js';

const require = createRequire(import.meta.url);
const safeRegex = require('safe-regex2') as (re: string, opts?: { limit?: number }) => boolean;

/** How a hit counts towards the score (see the README's scoring table). */
export type HitKind = 'keyword' | 'phrase' | 'fuzzy' | 'regex';

/** One term of a rule, compiled for the index. */
export interface TermSlot {
  slot: number;
  list: 'any' | 'all' | 'phrases' | 'fuzzy';
  kind: HitKind;
  /** The term as written. */
  term: string;
  /** Bit of this term in the rule's `all` mask; 0 for other lists. */
  allBit: number;
  /** Token stems, for terms matched on words. */
  stems?: string[];
  /** The folded character sequence, for terms with CJK characters. */
  chars?: string;
  /** Edit budget, for fuzzy terms. */
  budget?: number;
}

/** One regular expression of a rule, compiled. */
export interface RegexSlot {
  slot: number;
  /** Dedup key: flags and source. */
  key: string;
  re: RegExp;
  gate: RegexGate;
  groups: number;
  /** `/pattern/flags` as written, for `why`. */
  display: string;
}

/** The `when` conditions, lists normalised. */
export interface WhenConditions {
  slot: readonly string[];
  absent: readonly string[];
  lastIntent: readonly string[];
}

export const LANG_BITS = { en: 1, zh: 2, ja: 4 } as const;

/** A validated, compiled rule. */
export interface CompiledRule {
  id: string;
  intent: string;
  priority: number;
  source: string;
  /** Bits of LANG_BITS; 0 matches every language. */
  langMask: number;
  terms: TermSlot[];
  regexes: RegexSlot[];
  /** The `all` mask when every `all` term matched; 0 without `all`. */
  allFull: number;
  /** Whether any, phrases, fuzzy or regex is present (one of them must hit). */
  hasAnyGroup: boolean;
  when: WhenConditions | undefined;
  reply: TemplatePart[] | undefined;
}

interface CheckedRegex {
  re: RegExp;
  gate: RegexGate;
  groups: number;
}

const REGEX_CACHE_MAX = 10_000;
const regexCache = new Map<string, CheckedRegex | KefuError>();

function checkRegex(pattern: string, flags: string, place: ErrorPlace): CheckedRegex {
  const key = `${flags}/${pattern}`;
  const cached = regexCache.get(key);
  if (cached !== undefined && !('re' in cached)) throw cached;
  if (cached !== undefined) return cached;

  let checked: CheckedRegex | KefuError;
  try {
    const probe = new RegExp(`${pattern}|`, flags);
    checked = safeRegex(pattern)
      ? {
          re: new RegExp(pattern, `${flags}d`),
          gate: regexGate(pattern),
          groups: (probe.exec('') as RegExpExecArray).length - 1,
        }
      : ruleError(
          'RULES_UNSAFE_REGEX',
          'the pattern can backtrack catastrophically (nested or too many quantifiers)',
          placeDetails(place),
        );
  } catch (err) {
    checked = ruleError(
      'RULES_INVALID',
      `invalid regular expression: ${(err as Error).message}`,
      placeDetails(place),
      err,
    );
  }
  if (regexCache.size >= REGEX_CACHE_MAX) regexCache.clear();
  regexCache.set(key, checked);
  if (!('re' in checked)) throw checked;

  return checked;
}

function compileTerm(
  list: TermSlot['list'],
  term: string,
  slot: number,
  allBit: number,
  place: ErrorPlace,
): TermSlot {
  const kind: HitKind = list === 'phrases' ? 'phrase' : list === 'fuzzy' ? 'fuzzy' : 'keyword';
  const base = { slot, list, kind, term, allBit };

  if (list === 'fuzzy') {
    const tokens = tokenize(term);
    const word = tokens[0];
    if (
      tokens.length !== 1 ||
      word === undefined ||
      word.script !== 'latin' ||
      word.text.length < 5
    ) {
      throw ruleError(
        'RULES_INVALID',
        'a fuzzy term is one word of at least 5 letters',
        placeDetails(place),
      );
    }
    return { ...base, stems: [word.stem], budget: maxEdits(word.text.length) };
  }

  // Han and kana terms are matched on characters: the segmenter may cut a
  // word differently inside a sentence than alone ("转人工").
  if (hasCjk(term)) {
    const chars = foldTerm(term);
    if (chars === '') throw ruleError('RULES_INVALID', 'the term is empty', placeDetails(place));
    return { ...base, chars };
  }

  const stems = tokenize(term).map((t) => t.stem);
  if (stems.length === 0) {
    throw ruleError('RULES_INVALID', 'the term has no word to match', placeDetails(place));
  }
  return { ...base, stems };
}

function compileReply(reply: string, regexes: RegexSlot[], place: ErrorPlace): TemplatePart[] {
  const at = { ...place, path: ['reply'] };
  let parts: TemplatePart[];
  try {
    parts = parseTemplate(reply);
  } catch (err) {
    if (!(err instanceof TemplateSyntaxError)) throw err;
    throw ruleError('RULES_INVALID', `bad reply template: ${err.message}`, placeDetails(at), err);
  }

  const groups = Math.max(0, ...regexes.map((r) => r.groups));
  for (const ref of templateRefs(parts)) {
    if (/^\d+$/.test(ref) && Number(ref) > groups) {
      throw ruleError(
        'RULES_INVALID',
        `reply refers to group {{${ref}}}, the regex has ${groups}`,
        placeDetails(at),
      );
    }
  }
  return parts;
}

/**
 * Validates one rule spec and compiles it.
 *
 * @throws KefuError `RULES_INVALID`, `RULES_UNSAFE_REGEX`
 */
export function compileRule(raw: unknown, source: string, index: number): CompiledRule {
  const rawId = (raw as { id?: unknown } | null)?.id;
  const place: ErrorPlace = { source, index };
  if (typeof rawId === 'string') place.ruleId = rawId;

  const parsed = ruleSpecSchema.safeParse(raw);
  if (!parsed.success) throw fromZod(parsed.error, place);

  const spec: ValidRuleSpec = parsed.data;
  const terms: TermSlot[] = [];
  const regexes: RegexSlot[] = [];
  let slot = 0;
  let allFull = 0;

  for (const list of ['any', 'all', 'phrases', 'fuzzy'] as const) {
    (spec.match[list] ?? []).forEach((term, i) => {
      const allBit = list === 'all' ? 1 << i : 0;
      allFull |= allBit;
      terms.push(compileTerm(list, term, slot++, allBit, { ...place, path: ['match', list, i] }));
    });
  }

  (spec.match.regex ?? []).forEach((entry, i) => {
    const pattern = typeof entry === 'string' ? entry : entry.pattern;
    const flags = typeof entry === 'string' ? 'i' : (entry.flags ?? 'i');
    const checked = checkRegex(pattern, flags, { ...place, path: ['match', 'regex', i] });
    regexes.push({
      slot: slot++,
      key: `${flags}/${pattern}`,
      display: `/${pattern}/${flags}`,
      ...checked,
    });
  });

  const when = spec.match.when;
  const rule: CompiledRule = {
    id: spec.id,
    intent: spec.intent,
    priority: spec.priority,
    source,
    langMask: spec.lang === undefined ? 0 : LANG_BITS[spec.lang],
    terms,
    regexes,
    allFull: allFull >>> 0,
    hasAnyGroup: terms.some((t) => t.list !== 'all') || regexes.length > 0,
    when:
      when === undefined
        ? undefined
        : { slot: when.slot ?? [], absent: when.absent ?? [], lastIntent: when.lastIntent ?? [] },
    reply: spec.reply === undefined ? undefined : compileReply(spec.reply, regexes, place),
  };
  return rule;
}

/**
 * Validates and compiles the rules of one source; ids are unique within it.
 *
 * @throws KefuError `RULES_INVALID`, `RULES_UNSAFE_REGEX`, `RULES_DUPLICATE_ID`
 */
export function compileSource(specs: readonly unknown[], source: string): CompiledRule[] {
  if (!Array.isArray(specs)) {
    throw ruleError('RULES_INVALID', 'expected a list of rules', { source, path: [] });
  }
  const seen = new Set<string>();

  return specs.map((raw, index) => {
    const rule = compileRule(raw, source, index);
    if (seen.has(rule.id)) {
      throw ruleError(
        'RULES_DUPLICATE_ID',
        `the id "${rule.id}" is used by an earlier rule`,
        placeDetails({ source, index, ruleId: rule.id, path: ['id'] }),
      );
    }
    seen.add(rule.id);
    return rule;
  });
}
