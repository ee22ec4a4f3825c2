import { KefuError, type Logger } from '@kefu/core';
import { z } from 'zod';

const loggerSchema = z.custom<Logger>(
  (v) => typeof v === 'object' && v !== null && typeof (v as Logger).warn === 'function',
  { message: 'expected a Logger' },
);

/**
 * The options of {@link ClassicNlu}. The defaults were chosen once, on the
 * validation splits of public data sets, and are meant to hold unchanged on
 * other data: change them only with a validation set of your own.
 */
export const classicNluOptionsSchema = z
  .object({
    /** Hash buckets of the feature space (a power of two, 2^10 to 2^20). */
    dim: z
      .number()
      .int()
      .min(1024)
      .max(2 ** 20)
      .refine((n) => (n & (n - 1)) === 0, 'must be a power of two')
      .default(2 ** 16),
    /** Character n-gram lengths inside English words. */
    charNgrams: z.tuple([z.number().int().min(1).max(8), z.number().int().min(1).max(8)]).default([3, 5]),
    /** Character n-gram lengths over runs of Han characters. */
    hanNgrams: z.tuple([z.number().int().min(1).max(6), z.number().int().min(1).max(6)]).default([1, 3]),
    /** Weight of the word block against the character block. */
    wordWeight: z.number().positive().max(100).default(3),
    epochs: z.number().int().min(1).max(200).default(8),
    learningRate: z.number().positive().max(10).default(0.5),
    l2: z.number().min(0).max(1).default(3e-5),
    dropout: z.number().min(0).max(0.9).default(0.6),
    seed: z.number().int().default(1),
    /**
     * How many models, trained with different seeds, are averaged into the
     * served one. `'auto'` averages more of them the smaller the data set
     * (10 up to 1,000 examples, 2 from 5,000 on), which keeps the
     * answers of small sets from depending on the seed.
     */
    ensemble: z.union([z.literal('auto'), z.number().int().min(1).max(16)]).default('auto'),
    /**
     * The share of in-scope held-out examples the calibrated threshold may
     * send to `oos`. Higher catches more out-of-scope text and loses more
     * in-scope answers.
     */
    rejectRate: z.number().min(0).max(0.5).default(0.015),
    /**
     * Training examples made of each in-scope intent's name split into words
     * (`change_user_name`, `changeUserName` → "change user name"), added this
     * many times per intent. Names carry meaning that a few examples may not
     * show; with many examples per intent their weight fades. 0 turns it off
     * (for opaque names such as ids).
     */
    intentNameExamples: z.number().int().min(0).max(10).default(2),
    /** A fixed confidence threshold; skips calibration of the threshold when set. */
    threshold: z.number().min(0).max(1).optional(),
    /** The intent name that means out of scope. */
    oosIntent: z.string().min(1).default('oos'),
    /** How many intents `classify()` returns at most. */
    topK: z.number().int().min(1).default(10),
    /** A folder for trained models, keyed by a hash of data and options. */
    modelCacheDir: z.string().min(1).optional(),
    logger: loggerSchema.optional(),
  })
  .strict()
  .refine((o) => o.charNgrams[0] <= o.charNgrams[1] && o.hanNgrams[0] <= o.hanNgrams[1], {
    message: 'n-gram ranges must be [min, max] with min <= max',
  });

/** Options of {@link ClassicNlu}, as a host passes them. */
export type ClassicNluOptions = z.input<typeof classicNluOptionsSchema>;

/** Options with every default filled in. */
export type ResolvedClassicOptions = z.output<typeof classicNluOptionsSchema>;

/**
 * Validates options.
 *
 * @throws KefuError `INTENTS_OPTIONS_INVALID` with zod's issues in `details`.
 */
export function parseClassicOptions(options: unknown): ResolvedClassicOptions {
  const parsed = classicNluOptionsSchema.safeParse(options ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const where = issues.map((i) => i.path || '(root)').join(', ');

    throw new KefuError('INTENTS_OPTIONS_INVALID', `invalid ClassicNlu options at ${where}`, {
      cause: parsed.error,
      details: { issues },
    });
  }

  return parsed.data;
}
