import type { IntentScore, NluProvider, SessionView, TrainingExample } from '@kefu/core';
import { KefuError } from '@kefu/core';

/** Options of {@link HttpNlu}. */
export interface HttpNluOptions {
  kind: 'rasa' | 'openai';
  url: string;
  model?: string;
  apiKey?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** An NLU that asks a remote service (work in progress). */
export class HttpNlu implements NluProvider {
  readonly name = 'http';

  constructor(readonly options: HttpNluOptions) {}

  async train(_examples: readonly TrainingExample[]): Promise<void> {}

  async classify(_text: string, _session?: SessionView): Promise<IntentScore[]> {
    throw new KefuError('INTENTS_REMOTE_FAILED', 'HttpNlu is not implemented yet');
  }

  async close(): Promise<void> {}
}
