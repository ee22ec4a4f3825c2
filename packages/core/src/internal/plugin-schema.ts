import { z } from 'zod';

import type { Plugin } from '../types.js';

const fn = z.custom<(...args: never[]) => unknown>(
  (value) => typeof value === 'function',
  'expected a function',
);

// Semantic Versioning 2.0.0 (https://semver.org), pre-release and build parts included.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

const intentSchema = z.looseObject({
  name: z
    .string()
    .min(1)
    .refine((name) => name !== 'oos', 'the intent name "oos" is reserved for out of scope'),
  examples: z.array(z.string().min(1)),
  rules: z.array(z.record(z.string(), z.unknown())).optional(),
  threshold: z.number().min(0).max(1).optional(),
});

const pluginSchema = z
  .looseObject({
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][\w.@/-]*$/,
        'expected a name of letters, digits, ".", "_", "-", "/" or "@"',
      ),
    version: z.string().regex(SEMVER, 'expected a semver version such as 1.0.0'),
    intents: z.array(intentSchema).min(1),
    detect: fn.optional(),
    handle: fn,
    setup: fn.optional(),
    dispose: fn.optional(),
  })
  .superRefine((plugin, ctx) => {
    const seen = new Set<string>();

    plugin.intents.forEach((intent, index) => {
      if (seen.has(intent.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['intents', index, 'name'],
          message: `duplicate intent "${intent.name}"`,
        });
      }

      seen.add(intent.name);
    });
  });

/** The outcome of checking a module's default export. */
export type PluginCheck =
  { ok: true; plugin: Plugin } | { ok: false; reason: string; issues: unknown };

/**
 * Checks a plugin module's default export. On success the module's own
 * object is returned, not zod's copy, so that methods keep their `this`.
 */
export function checkPlugin(value: unknown): PluginCheck {
  if (value === undefined)
    return { ok: false, reason: 'the module has no default export', issues: [] };

  const parsed = pluginSchema.safeParse(value);

  if (parsed.success) return { ok: true, plugin: value as Plugin };

  const reason = parsed.error.issues
    .map(
      (issue) =>
        `${issue.path.length > 0 ? issue.path.join('.') : 'default export'}: ${issue.message}`,
    )
    .join('; ');

  return { ok: false, reason, issues: parsed.error.issues };
}
