import type { IntentScore } from '@kefu/core';
import { z } from 'zod';

import { malformed, resolveName } from './answer.js';
import type { UnknownIntentPolicy } from './answer.js';

/** Longest example text quoted in the prompt; longer ones are cut. */
const MAX_EXAMPLE_CHARS = 160;

/**
 * Builds the chat-completions request: a system message listing the
 * intents with a few examples each, and the visitor's text as the user
 * message, never mixed into the instructions.
 */
export function buildChatRequest(
  text: string,
  model: string,
  examples: ReadonlyMap<string, readonly string[]>,
  isJsonMode: boolean,
): Record<string, unknown> {
  const lines = [...examples].map(([intent, texts]) => {
    const quoted = texts.map((t) => JSON.stringify(t.slice(0, MAX_EXAMPLE_CHARS))).join(', ');

    return quoted === '' ? `- ${intent}` : `- ${intent}: e.g. ${quoted}`;
  });
  const system = [
    'You classify one customer-service message into exactly one intent from this list:',
    ...lines,
    'If the message fits none of them, the intent is "oos" (out of scope).',
    'Answer with JSON only, no prose: {"intent": "<name from the list or oos>", "confidence": <0 to 1>}.',
  ].join('\n');

  return {
    model,
    temperature: 0,
    max_tokens: 60,
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: text },
    ],
    ...(isJsonMode ? { response_format: { type: 'json_object' } } : {}),
  };
}

const completionSchema = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string() }) })).min(1),
});

const verdictSchema = z.object({
  intent: z.string().min(1),
  confidence: z.number().min(0).max(1).optional(),
});

/** Strips a Markdown code fence that some models wrap around JSON. */
function unfence(content: string): string {
  const fenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/i.exec(content);

  return fenced?.[1] ?? content.trim();
}

/**
 * Reads the model's verdict. The content must be a JSON object with an
 * `intent` from the trained list (or `oos`) and an optional `confidence`
 * (1 when absent).
 * @throws {KefuError} `INTENTS_REMOTE_MALFORMED`.
 */
export function parseChatAnswer(
  answer: unknown,
  intents: ReadonlySet<string>,
  policy: Exclude<UnknownIntentPolicy, 'drop'>,
  oosNames: ReadonlySet<string>,
): IntentScore[] {
  const completion = completionSchema.safeParse(answer);
  if (!completion.success) throw malformed('chat-completions', completion.error);

  let content: unknown;
  try {
    content = JSON.parse(unfence(completion.data.choices[0]?.message.content ?? ''));
  } catch {
    content = undefined;
  }

  const verdict = verdictSchema.safeParse(content);
  if (!verdict.success) throw malformed('chat-completions verdict', verdict.error);

  const name = oosNames.has(verdict.data.intent) ? 'oos' : verdict.data.intent;
  const intent = resolveName(name, intents, policy) ?? 'oos';

  return [{ intent, score: verdict.data.confidence ?? 1 }];
}
