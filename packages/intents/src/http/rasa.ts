import type { IntentScore } from '@kefu/core';
import { z } from 'zod';

import { malformed, resolveName } from './answer.js';
import type { UnknownIntentPolicy } from './answer.js';

const scoreSchema = z.object({ name: z.string().min(1), confidence: z.number().min(0).max(1) });

/** The part of Rasa's `/model/parse` answer that we read; the rest is ignored. */
const rasaAnswerSchema = z.object({
  intent: z
    .object({ name: z.string().min(1).nullable(), confidence: z.number().min(0).max(1) })
    .nullable()
    .optional(),
  intent_ranking: z.array(scoreSchema).optional(),
});

/**
 * Turns a Rasa parse answer into a ranking. A name in `oosNames` (Rasa's
 * `nlu_fallback`, by default), or no intent at all, is `oos`. A name outside the trained intents (when there are any)
 * follows `policy` at the top and is dropped further down.
 * @throws {KefuError} `INTENTS_REMOTE_MALFORMED`.
 */
export function parseRasaAnswer(
  answer: unknown,
  intents: ReadonlySet<string>,
  policy: UnknownIntentPolicy,
  oosNames: ReadonlySet<string>,
): IntentScore[] {
  const parsed = rasaAnswerSchema.safeParse(answer);
  if (!parsed.success) throw malformed('rasa', parsed.error);

  const { intent, intent_ranking: ranking } = parsed.data;
  const entries =
    ranking !== undefined && ranking.length > 0
      ? [...ranking].sort((a, b) => b.confidence - a.confidence)
      : intent?.name != null
        ? [{ name: intent.name, confidence: intent.confidence }]
        : [];

  const scores: IntentScore[] = [];
  entries.forEach((entry, i) => {
    const name = oosNames.has(entry.name) ? 'oos' : entry.name;
    const resolved = resolveName(name, intents, i === 0 ? policy : 'drop');
    if (resolved !== undefined && !scores.some((s) => s.intent === resolved)) {
      scores.push({ intent: resolved, score: entry.confidence });
    }
  });

  return scores.length > 0 ? scores : [{ intent: 'oos', score: 1 }];
}
