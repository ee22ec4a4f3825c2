import type { LoadFailureCode } from './protocol.js';

const MISSING_LIBRARY = /Cannot find (package|module) '@xenova\/transformers'/;

/**
 * Sorts a model load failure into an error code, from what Node or the
 * transformers library said.
 */
export function loadFailureCode(message: string): LoadFailureCode {
  if (MISSING_LIBRARY.test(message)) return 'INTENTS_DEPENDENCY_MISSING';
  if (/could not locate file|not found locally|allowRemoteModels=false/i.test(message)) {
    return 'INTENTS_MODEL_NOT_FOUND';
  }
  if (
    /fetch failed|occurred while trying to load file|access to file|ECONN|ENOTFOUND/i.test(message)
  ) {
    return 'INTENTS_REMOTE_FAILED';
  }

  return 'INTENTS_MODEL_INVALID';
}

/**
 * The message a host sees for a load failure: the library's own words, or,
 * when the optional `@xenova/transformers` is not installed, how to get it.
 */
export function explainLoadFailure(message: string): string {
  if (!MISSING_LIBRARY.test(message)) return message;

  return 'EmbeddingNlu needs the optional dependency @xenova/transformers: install it beside @kefu/intents (npm install @xenova/transformers@2.17.2)';
}
