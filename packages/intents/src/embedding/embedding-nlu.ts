import type { IntentScore, NluProvider, SessionView, TrainingExample } from '@kefu/core';
import { KefuError } from '@kefu/core';

/** Options of {@link EmbeddingNlu}. */
export interface EmbeddingNluOptions {
  model?: string;
  localModelPath?: string;
  allowRemoteModels?: boolean;
  remoteHost?: string;
  cacheDir?: string;
  quantized?: boolean;
  workers?: number;
  batchSize?: number;
  threshold?: number;
  k?: number;
  classifier?: 'knn' | 'centroid';
}

/** An NLU on sentence embeddings (work in progress). */
export class EmbeddingNlu implements NluProvider {
  readonly name = 'embedding';

  constructor(readonly options: EmbeddingNluOptions = {}) {}

  async train(_examples: readonly TrainingExample[]): Promise<void> {
    throw new KefuError('INTENTS_NOT_TRAINED', 'EmbeddingNlu is not implemented yet');
  }

  async classify(_text: string, _session?: SessionView): Promise<IntentScore[]> {
    throw new KefuError('INTENTS_NOT_TRAINED', 'EmbeddingNlu is not trained');
  }

  async close(): Promise<void> {}
}
