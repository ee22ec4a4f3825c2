import type {
  IntentScore,
  NluProvider,
  RuleCandidate,
  RuleMatcher,
  TrainingExample,
} from '../src/index.js';

/** A rule matcher that answers from a table: the first word of the text picks the candidates. */
export function tableRules(
  table: Record<string, RuleCandidate[]>,
): RuleMatcher & { specs: Map<string, unknown[]> } {
  const specs = new Map<string, unknown[]>();

  return {
    specs,
    match: (text) => table[text.split(' ')[0] ?? ''] ?? [],
    setRules(source, list) {
      if (list.some((spec) => spec.invalid === true)) throw new Error('invalid rule');

      specs.set(source, [...list]);
    },
  };
}

/** An NLU provider that answers from a table and records its training sets. */
export class TableNlu implements NluProvider {
  readonly name = 'table';
  readonly trainings: TrainingExample[][] = [];
  table: Record<string, IntentScore[]>;
  trainGate: Promise<void> = Promise.resolve();
  isClosed = false;

  constructor(table: Record<string, IntentScore[]> = {}) {
    this.table = table;
  }

  async train(examples: readonly TrainingExample[]): Promise<void> {
    await this.trainGate;
    this.trainings.push([...examples]);
  }

  classify(text: string): Promise<IntentScore[]> {
    const found = this.table[text.split(' ')[0] ?? ''];

    if (found === undefined) return Promise.reject(new Error(`no answer for ${text}`));

    return Promise.resolve(found);
  }

  close(): Promise<void> {
    this.isClosed = true;

    return Promise.resolve();
  }
}
