import { z } from 'zod';
import type { Logger } from '@kefu/core';

const name = z.string().trim().min(1).max(200);
const term = z.string().min(1).max(200);

// A list field also takes one string, the common case in hand-written YAML.
function listOf<T extends z.ZodType>(item: T, max: number) {
  return z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(item).min(1).max(max));
}

const regexEntry = z.union([
  z.string().min(1).max(1000),
  z.strictObject({
    pattern: z.string().min(1).max(1000),
    flags: z
      .string()
      .regex(/^[imsu]*$/, 'flags may only be i, m, s and u')
      .optional(),
  }),
]);

const whenSchema = z
  .strictObject({
    /** Slots that must be set (not null or undefined). */
    slot: listOf(name, 20).optional(),
    /** Slots that must not be set. */
    absent: listOf(name, 20).optional(),
    /** The session's last intent must be one of these. */
    lastIntent: listOf(name, 50).optional(),
  })
  .refine(
    (w) => w.slot !== undefined || w.absent !== undefined || w.lastIntent !== undefined,
    'when needs slot, absent or lastIntent',
  );

const matchSchema = z
  .strictObject({
    any: listOf(term, 500).optional(),
    // A bit per term in a 32-bit mask while matching.
    all: listOf(term, 31).optional(),
    phrases: listOf(term, 500).optional(),
    regex: z
      .preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(regexEntry).min(1).max(20))
      .optional(),
    fuzzy: listOf(term, 500).optional(),
    when: whenSchema.optional(),
  })
  .refine(
    (m) => [m.any, m.all, m.phrases, m.regex, m.fuzzy].some((v) => v !== undefined),
    'match needs at least one of any, all, phrases, regex, fuzzy',
  );

/** The schema of one rule (strict: an unknown field is an error). */
export const ruleSpecSchema = z.strictObject({
  id: name,
  intent: name,
  priority: z.number().int().min(-100).max(100).default(0),
  lang: z.enum(['en', 'zh', 'ja']).optional(),
  description: z.string().max(2000).optional(),
  match: matchSchema,
  reply: z.string().min(1).max(4000).optional(),
});

/** A rule as written in a rules file or a plugin's intent. */
export type RuleSpecInput = z.input<typeof ruleSpecSchema>;

/** A validated rule, with defaults applied and lists normalised. */
export type ValidRuleSpec = z.output<typeof ruleSpecSchema>;

const loggerSchema = z.custom<Logger>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    ['debug', 'info', 'warn', 'error', 'child'].every(
      (k) => typeof (v as Record<string, unknown>)[k] === 'function',
    ),
  'expected a Logger (debug, info, warn, error, child)',
);

/** Options of {@link compileRules} and the `RuleEngine` constructor. */
export const ruleEngineOptionsSchema = z.strictObject({
  /** Where warnings go (a bad rules file on reload). */
  logger: loggerSchema.optional(),
  /** Most candidates `match()` returns, one per intent. */
  limit: z.number().int().min(1).max(1000).default(5),
  /** The source name of the rules given to `compileRules()`. */
  source: name.default('default'),
  /** Longer messages are matched on their first `maxTextLength` characters. */
  maxTextLength: z.number().int().min(1).max(1_000_000).default(4000),
});

export type RuleEngineOptions = z.input<typeof ruleEngineOptionsSchema>;

/** Options of {@link loadRules}: the engine's, plus file watching. */
export const loadRulesOptionsSchema = ruleEngineOptionsSchema.extend({
  /** Reload the file when it changes. */
  watch: z.boolean().default(false),
  /** Quiet time after the last change before reloading, in ms. */
  debounceMs: z.number().int().min(0).max(60_000).default(50),
});

export type LoadRulesOptions = z.input<typeof loadRulesOptionsSchema>;

/** Options of `RuleEngine.loadFile()`. */
export const loadFileOptionsSchema = loadRulesOptionsSchema.pick({ watch: true, debounceMs: true });

export type LoadFileOptions = z.input<typeof loadFileOptionsSchema>;
