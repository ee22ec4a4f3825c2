import { describe, expect, it } from 'vitest';

import { buildIndex, rank } from './classifier.js';

/** A unit vector along `axes` (equal weights), in 4 dimensions. */
function unit(...axes: number[]): Float32Array {
  const vector = new Float32Array(4);
  for (const axis of axes) vector[axis] = 1 / Math.sqrt(axes.length);

  return vector;
}

const EMBEDDINGS = [unit(0), unit(0, 1), unit(1), unit(2), unit(2, 3)];
const INTENTS = ['a', 'a', 'b', 'c', 'c'];

describe('rank()', () => {
  describe('with knn', () => {
    const index = buildIndex('knn', EMBEDDINGS, INTENTS);

    it('shares the score among the k nearest examples by similarity', () => {
      const { scores, bestSimilarity } = rank(index, unit(0), 2);

      expect(bestSimilarity).toBeCloseTo(1);
      expect(scores).toEqual([{ intent: 'a', score: 1 }]);
    });

    it('ranks a split neighbourhood best first, with scores adding up to 1', () => {
      const { scores } = rank(index, unit(0, 1, 2), 3);

      expect(scores.map((s) => s.intent)).toEqual(['a', 'b']);
      expect(scores.reduce((sum, s) => sum + s.score, 0)).toBeCloseTo(1);
    });

    it('leaves out intents whose neighbours point away from the query', () => {
      const { scores } = rank(
        buildIndex('knn', [unit(0), unit(1).map((x) => -x)], ['a', 'b']),
        unit(0, 1),
        2,
      );

      expect(scores).toEqual([{ intent: 'a', score: 1 }]);
    });

    it('reports the best similarity for the out-of-scope decision', () => {
      expect(rank(index, unit(3), 1).bestSimilarity).toBeCloseTo(Math.SQRT1_2);
    });
  });

  describe('with centroids', () => {
    const index = buildIndex('centroid', EMBEDDINGS, INTENTS);

    it('keeps one unit-length row per intent', () => {
      expect(index.intents).toEqual(['a', 'b', 'c']);
      expect(index.vectors).toHaveLength(3 * 4);
      const row = index.vectors.subarray(0, 4);
      expect(row.reduce((sum, x) => sum + x * x, 0)).toBeCloseTo(1);
    });

    it('ranks by a softmax over the centroid similarities', () => {
      const { scores, bestSimilarity } = rank(index, unit(2, 3), 5);

      expect(scores[0]?.intent).toBe('c');
      expect(scores.reduce((sum, s) => sum + s.score, 0)).toBeCloseTo(1);
      expect(bestSimilarity).toBeGreaterThan(0.9);
    });
  });
});
