import { z } from 'zod';

import { KefuError } from './errors.js';
import type { Logger } from './logger.js';
import type { NluProvider, RuleMatcher, SessionStore } from './types.js';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

const hasMethods = (value: unknown, names: readonly string[]): boolean =>
  isObject(value) && names.every((name) => typeof value[name] === 'function');

const providerSchema = z.custom<NluProvider>(
  (value) => hasMethods(value, ['train', 'classify']),
  'expected an NLU provider with train() and classify()',
);

const rulesSchema = z.custom<RuleMatcher>(
  (value) => hasMethods(value, ['match']),
  'expected a rule matcher with match()',
);

const storeSchema = z.custom<SessionStore>(
  (value) => hasMethods(value, ['get', 'set', 'delete']),
  'expected a session store with get(), set() and delete()',
);

const loggerSchema = z.custom<Logger>(
  (value) => hasMethods(value, ['debug', 'info', 'warn', 'error', 'child']),
  'expected a pino-compatible logger',
);

const score = z.number().min(0).max(1);
const positiveMs = z.number().int().positive();

const outOfScopeSchema = z.union([
  z.string().min(1),
  z.strictObject({ en: z.string().min(1), zh: z.string().min(1) }),
]);

const optionsSchema = z.strictObject({
  plugins: z
    .strictObject({
      dir: z.string().min(1).optional(),
      files: z.array(z.string().min(1)).optional(),
      watch: z.boolean().optional(),
      debounceMs: z.number().int().min(0).optional(),
    })
    .optional(),
  nlu: z
    .strictObject({
      provider: providerSchema.optional(),
      timeoutMs: positiveMs.optional(),
      retrainDebounceMs: z.number().int().min(0).optional(),
      breaker: z
        .strictObject({
          errorThresholdPercentage: z.number().min(0).max(100).optional(),
          volumeThreshold: z.number().int().min(0).optional(),
          resetTimeoutMs: positiveMs.optional(),
          rollingCountTimeoutMs: positiveMs.optional(),
          rollingCountBuckets: z.number().int().positive().optional(),
        })
        .optional(),
    })
    .optional(),
  rules: rulesSchema.optional(),
  sessions: z
    .strictObject({
      max: z.number().int().positive().optional(),
      ttlMs: positiveMs.optional(),
      store: storeSchema.optional(),
      historyMax: z.number().int().min(0).optional(),
      sweepIntervalMs: positiveMs.optional(),
    })
    .optional(),
  threshold: score.optional(),
  ambiguityMargin: score.optional(),
  handlerTimeoutMs: positiveMs.optional(),
  maxTextLength: z.number().int().positive().optional(),
  outOfScopeReply: outOfScopeSchema.optional(),
  logger: loggerSchema.optional(),
  logText: z.boolean().optional(),
});

/** What `createEngine()` takes; every field is optional. */
export type EngineOptions = z.input<typeof optionsSchema>;

/** Defaults of {@link EngineOptions}, in one place for the README and tests. */
export const DEFAULTS = {
  pluginDebounceMs: 50,
  nluTimeoutMs: 300,
  retrainDebounceMs: 100,
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  resetTimeoutMs: 10_000,
  rollingCountTimeoutMs: 10_000,
  rollingCountBuckets: 10,
  sessionsMax: 100_000,
  sessionTtlMs: 30 * 60_000,
  historyMax: 20,
  threshold: 0.5,
  ambiguityMargin: 0.05,
  handlerTimeoutMs: 5_000,
  maxTextLength: 4_000,
  outOfScopeReply: {
    en: "Sorry, I didn't get that. Could you say it another way, or shall I find a human agent?",
    zh: '抱歉，我没有理解您的意思。您可以换个说法，或者需要我为您转接人工客服吗？',
  },
} as const;

/** Options after validation, with every default filled in. */
export interface ResolvedOptions {
  plugins: { dir: string | undefined; files: string[]; watch: boolean; debounceMs: number };
  nlu: {
    provider: NluProvider | undefined;
    timeoutMs: number;
    retrainDebounceMs: number;
    breaker: {
      errorThresholdPercentage: number;
      volumeThreshold: number;
      resetTimeoutMs: number;
      rollingCountTimeoutMs: number;
      rollingCountBuckets: number;
    };
  };
  rules: RuleMatcher | undefined;
  sessions: {
    max: number;
    ttlMs: number;
    store: SessionStore | undefined;
    historyMax: number;
    sweepIntervalMs: number;
  };
  threshold: number;
  ambiguityMargin: number;
  handlerTimeoutMs: number;
  maxTextLength: number;
  outOfScopeReply: { en: string; zh: string };
  logger: Logger | undefined;
  logText: boolean;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .flatMap((issue) => {
      // An unknown key is reported on its parent object; name the key itself
      // (`plugins.dirr`), which is what the host mistyped.
      const paths =
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => [...issue.path, key])
          : [issue.path];

      return paths.map((path) => {
        const name = path.length > 0 ? path.join('.') : '(options)';

        return issue.code === 'unrecognized_keys' ? `${name}: unknown option` : `${name}: ${issue.message}`;
      });
    })
    .join('; ');
}

/**
 * Validates `createEngine()` options and fills in the defaults.
 *
 * @throws KefuError `CORE_OPTIONS_INVALID`, naming the field path.
 */
export function resolveOptions(input: unknown): ResolvedOptions {
  const parsed = optionsSchema.safeParse(input ?? {});

  if (!parsed.success) {
    throw new KefuError(
      'CORE_OPTIONS_INVALID',
      `invalid engine options: ${describeIssues(parsed.error)}`,
      {
        cause: parsed.error,
        details: { issues: parsed.error.issues },
      },
    );
  }

  const o = parsed.data;
  const breaker = o.nlu?.breaker ?? {};
  const ttlMs = o.sessions?.ttlMs ?? DEFAULTS.sessionTtlMs;
  const oos = o.outOfScopeReply ?? DEFAULTS.outOfScopeReply;

  return {
    plugins: {
      dir: o.plugins?.dir,
      files: o.plugins?.files ?? [],
      watch: o.plugins?.watch ?? false,
      debounceMs: o.plugins?.debounceMs ?? DEFAULTS.pluginDebounceMs,
    },
    nlu: {
      provider: o.nlu?.provider,
      timeoutMs: o.nlu?.timeoutMs ?? DEFAULTS.nluTimeoutMs,
      retrainDebounceMs: o.nlu?.retrainDebounceMs ?? DEFAULTS.retrainDebounceMs,
      breaker: {
        errorThresholdPercentage:
          breaker.errorThresholdPercentage ?? DEFAULTS.errorThresholdPercentage,
        volumeThreshold: breaker.volumeThreshold ?? DEFAULTS.volumeThreshold,
        resetTimeoutMs: breaker.resetTimeoutMs ?? DEFAULTS.resetTimeoutMs,
        rollingCountTimeoutMs: breaker.rollingCountTimeoutMs ?? DEFAULTS.rollingCountTimeoutMs,
        rollingCountBuckets: breaker.rollingCountBuckets ?? DEFAULTS.rollingCountBuckets,
      },
    },
    rules: o.rules,
    sessions: {
      max: o.sessions?.max ?? DEFAULTS.sessionsMax,
      ttlMs,
      store: o.sessions?.store,
      historyMax: o.sessions?.historyMax ?? DEFAULTS.historyMax,
      sweepIntervalMs: o.sessions?.sweepIntervalMs ?? Math.min(1_000, ttlMs),
    },
    threshold: o.threshold ?? DEFAULTS.threshold,
    ambiguityMargin: o.ambiguityMargin ?? DEFAULTS.ambiguityMargin,
    handlerTimeoutMs: o.handlerTimeoutMs ?? DEFAULTS.handlerTimeoutMs,
    maxTextLength: o.maxTextLength ?? DEFAULTS.maxTextLength,
    outOfScopeReply: typeof oos === 'string' ? { en: oos, zh: oos } : oos,
    logger: o.logger,
    logText: o.logText ?? false,
  };
}
