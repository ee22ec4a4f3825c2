import type { NluProvider, TrainingExample } from '@kefu/core';

/** Precision, recall and F1 of one intent on a test set. */
export interface IntentMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Test rows with this gold intent. */
  support: number;
}

/** A gold intent and the intent predicted instead, with how often. */
export interface ConfusedPair {
  gold: string;
  predicted: string;
  count: number;
}

/** What {@link evaluate} measures. Ratios are in [0, 1]; `null` when undefined (no rows to divide by). */
export interface EvalReport {
  provider: string;
  /** Share of in-scope test rows whose prediction is their intent (predicting `oos` counts as wrong). */
  inScopeAccuracy: number | null;
  /** Share of `oos` test rows predicted `oos`. */
  oosRecall: number | null;
  /** Share of `oos` predictions whose row is `oos`. */
  oosPrecision: number | null;
  /** Share of all rows predicted right, `oos` and classes such as Braun's `None` included. */
  accuracy: number;
  /** Micro-averaged F1 over all rows; equals `accuracy` for single-label predictions. */
  microF1: number;
  /** Mean F1 over the gold intents of the test set (`oos` included when present). */
  macroF1: number;
  perIntent: Record<string, IntentMetrics>;
  /** The most frequent wrong predictions, most frequent first. */
  confusedPairs: ConfusedPair[];
  trainMs: number;
  classifyPerSec: number;
  counts: {
    train: number;
    test: number;
    testInScope: number;
    testOos: number;
    /** Distinct intents in the training data (`oos` included when present). */
    intents: number;
  };
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** The out-of-scope intent name. @defaultValue 'oos' */
  oosIntent?: string;
  /** How many confused pairs to report. @defaultValue 10 */
  confusedPairs?: number;
}

const ratio = (num: number, den: number): number | null => (den === 0 ? null : num / den);

/**
 * Trains `provider` on `train`, classifies every row of `test` one at a
 * time, and scores the top prediction of each. An empty answer counts as
 * `oos`.
 */
export async function evaluate(
  provider: NluProvider,
  train: readonly TrainingExample[],
  test: readonly TrainingExample[],
  options: EvaluateOptions = {},
): Promise<EvalReport> {
  const oos = options.oosIntent ?? 'oos';

  const trainStart = performance.now();
  await provider.train(train);
  const trainMs = performance.now() - trainStart;

  const predicted: string[] = [];
  const classifyStart = performance.now();
  for (const row of test) {
    const ranked = await provider.classify(row.text);
    predicted.push(ranked[0]?.intent ?? oos);
  }
  const classifyMs = performance.now() - classifyStart;

  return {
    provider: provider.name,
    ...scorePredictions(test, predicted, oos, options.confusedPairs ?? 10),
    trainMs: Math.round(trainMs),
    classifyPerSec: classifyMs > 0 ? Math.round((test.length / classifyMs) * 1000) : 0,
    counts: {
      train: train.length,
      test: test.length,
      testInScope: test.filter((r) => r.intent !== oos).length,
      testOos: test.filter((r) => r.intent === oos).length,
      intents: new Set(train.map((r) => r.intent)).size,
    },
  };
}

/** The accuracy figures of {@link EvalReport} from gold rows and predictions. */
export function scorePredictions(
  test: readonly TrainingExample[],
  predicted: readonly string[],
  oos = 'oos',
  pairs = 10,
): Pick<EvalReport, 'inScopeAccuracy' | 'oosRecall' | 'oosPrecision' | 'accuracy' | 'microF1' | 'macroF1' | 'perIntent' | 'confusedPairs'> {
  let inScope = 0;
  let inScopeRight = 0;
  let oosGold = 0;
  let oosRight = 0;
  let oosPredicted = 0;
  let right = 0;
  const tp = new Map<string, number>();
  const goldCount = new Map<string, number>();
  const predCount = new Map<string, number>();
  const confused = new Map<string, ConfusedPair>();
  const add = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);

  test.forEach((row, i) => {
    const pred = predicted[i] ?? oos;
    const ok = pred === row.intent;
    add(goldCount, row.intent);
    add(predCount, pred);
    if (ok) {
      right++;
      add(tp, row.intent);
    } else {
      const key = `${row.intent}\u0000${pred}`;
      const pair = confused.get(key) ?? { gold: row.intent, predicted: pred, count: 0 };
      pair.count++;
      confused.set(key, pair);
    }
    if (pred === oos) oosPredicted++;
    if (row.intent === oos) {
      oosGold++;
      if (ok) oosRight++;
    } else {
      inScope++;
      if (ok) inScopeRight++;
    }
  });

  // No prototype: an intent may be named like an Object.prototype member.
  const perIntent: Record<string, IntentMetrics> = Object.create(null) as Record<string, IntentMetrics>;
  let f1Sum = 0;
  for (const [intent, support] of [...goldCount].sort(([a], [b]) => a.localeCompare(b))) {
    const t = tp.get(intent) ?? 0;
    const p = predCount.get(intent) ?? 0;
    const precision = p === 0 ? 0 : t / p;
    const recall = t / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    perIntent[intent] = { precision, recall, f1, support };
    f1Sum += f1;
  }
  const accuracy = test.length === 0 ? 0 : right / test.length;

  return {
    inScopeAccuracy: ratio(inScopeRight, inScope),
    oosRecall: ratio(oosRight, oosGold),
    oosPrecision: ratio(oosRight, oosPredicted),
    accuracy,
    microF1: accuracy,
    macroF1: goldCount.size === 0 ? 0 : f1Sum / goldCount.size,
    perIntent,
    confusedPairs: [...confused.values()]
      .sort((a, b) => b.count - a.count || a.gold.localeCompare(b.gold))
      .slice(0, pairs),
  };
}
