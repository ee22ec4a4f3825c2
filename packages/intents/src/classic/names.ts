import type { TrainingExample } from '@kefu/core';

/**
 * The words of an intent name: separators (`_ - . : /`) become spaces and a
 * lower-case letter followed by a capital is split, so `change_user_name`,
 * `changeUserName` and `Change User Name` all give the words change, user
 * and name (the featurizer folds case).
 */
export function intentNameText(intent: string): string {
  return intent
    .replace(/(\p{Ll})(\p{Lu})/gu, '$1 $2')
    .replace(/[_\-.:/]+/g, ' ')
    .trim();
}

/** `times` examples per in-scope intent, each the words of its name. */
export function nameExamples(labels: readonly string[], oosIntent: string, times: number): TrainingExample[] {
  const out: TrainingExample[] = [];
  for (const intent of labels) {
    if (intent === oosIntent) continue;
    const text = intentNameText(intent);
    if (text === '') continue;
    for (let r = 0; r < times; r++) out.push({ text, intent });
  }

  return out;
}
