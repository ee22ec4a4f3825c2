import type { IntentScore, NluProvider, TrainingExample } from '@kefu/core';
import { describe, expect, it } from 'vitest';

import { evaluate, scorePredictions } from './evaluate.js';

const rows = (pairs: [string, string][]): TrainingExample[] => pairs.map(([text, intent]) => ({ text, intent }));

describe('scorePredictions()', () => {
  it('computes in-scope accuracy, oos recall and precision', () => {
    const test = rows([
      ['a1', 'a'],
      ['a2', 'a'],
      ['b1', 'b'],
      ['o1', 'oos'],
      ['o2', 'oos'],
    ]);
    const s = scorePredictions(test, ['a', 'oos', 'b', 'oos', 'a']);

    expect(s.inScopeAccuracy).toBeCloseTo(2 / 3);
    expect(s.oosRecall).toBeCloseTo(1 / 2);
    expect(s.oosPrecision).toBeCloseTo(1 / 2);
    expect(s.accuracy).toBeCloseTo(3 / 5);
    expect(s.microF1).toBe(s.accuracy);
    expect(s.perIntent.b).toEqual({ precision: 1, recall: 1, f1: 1, support: 1 });
    expect(s.confusedPairs).toContainEqual({ gold: 'a', predicted: 'oos', count: 1 });
  });

  it('reports null oos figures when nothing is out of scope', () => {
    const s = scorePredictions(rows([['x', 'None']]), ['None']);

    expect(s.oosRecall).toBeNull();
    expect(s.oosPrecision).toBeNull();
    expect(s.macroF1).toBe(1);
  });
});

describe('evaluate()', () => {
  it('trains, classifies every row and counts them', async () => {
    const provider: NluProvider = {
      name: 'echo',
      async train() {},
      async classify(text: string): Promise<IntentScore[]> {
        return text.startsWith('a') ? [{ intent: 'a', score: 1 }] : [];
      },
    };
    const report = await evaluate(provider, rows([['a', 'a']]), rows([['a1', 'a'], ['z', 'oos']]));

    expect(report.provider).toBe('echo');
    expect(report.inScopeAccuracy).toBe(1);
    expect(report.oosRecall).toBe(1);
    expect(report.counts).toEqual({ train: 1, test: 2, testInScope: 1, testOos: 1, intents: 1 });
    expect(report.classifyPerSec).toBeGreaterThan(0);
  });
});

describe('scorePredictions() with unusual intent names', () => {
  it('keeps an intent named __proto__ as a plain entry', () => {
    const s = scorePredictions(rows([['x', '__proto__']]), ['__proto__']);

    expect(Object.keys(s.perIntent)).toEqual(['__proto__']);
    expect(JSON.parse(JSON.stringify(s.perIntent)).__proto__).toMatchObject({ f1: 1 });
  });
});
