import { KefuError } from '@kefu/core';
import type { z } from 'zod';

/** What to do with an intent name the service made up. */
export type UnknownIntentPolicy = 'error' | 'oos' | 'drop';

/** The error for an answer that fails its schema, with zod's issues as details. */
export function malformed(kind: string, error: z.ZodError): KefuError {
  return new KefuError(
    'INTENTS_REMOTE_MALFORMED',
    `the ${kind} answer does not have the expected shape`,
    {
      cause: error,
      details: { issues: error.issues },
    },
  );
}

/**
 * Maps a name from the service onto a trained intent: exact first, then
 * ignoring case and surrounding spaces (language models drift on both).
 * With no trained intents every name is accepted as it is.
 * @throws {KefuError} `INTENTS_REMOTE_MALFORMED` under the `error` policy.
 */
export function resolveName(
  name: string,
  intents: ReadonlySet<string>,
  policy: UnknownIntentPolicy,
): string | undefined {
  if (name === 'oos' || intents.size === 0 || intents.has(name)) return name;

  const wanted = name.trim().toLowerCase();
  if (wanted === 'oos') return 'oos';
  for (const intent of intents) if (intent.toLowerCase() === wanted) return intent;

  if (policy === 'oos') return 'oos';
  if (policy === 'drop') return undefined;

  throw new KefuError(
    'INTENTS_REMOTE_MALFORMED',
    `the service answered an intent that was never trained`,
    {
      details: { intent: name },
    },
  );
}
