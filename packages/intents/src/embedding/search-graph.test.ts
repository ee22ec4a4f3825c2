import { createRequire } from 'node:module';

import { describe, expect, it } from 'vitest';

import { nearest } from './classifier.js';
import { searchGraph } from './search-graph.js';

interface Ort {
  InferenceSession: {
    create(model: Uint8Array): Promise<{
      run(
        feeds: Record<string, unknown>,
      ): Promise<Record<string, { data: ArrayLike<number | bigint> }>>;
    }>;
  };
  Tensor: new (type: string, data: Float32Array | BigInt64Array, dims: number[]) => unknown;
}

const fromHere = createRequire(import.meta.url);
const ort = createRequire(fromHere.resolve('@xenova/transformers'))('onnxruntime-node') as Ort;

/** Seeded unit vectors, row-major. */
function unitRows(rows: number, dim: number, seed: number): Float32Array {
  let state = seed;
  const random = (): number => ((state = (state * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const row = Float32Array.from({ length: dim }, random);
    const norm = Math.hypot(...row);
    out.set(
      row.map((x) => x / norm),
      r * dim,
    );
  }

  return out;
}

describe('searchGraph()', () => {
  it('finds the same nearest rows, best first, as the JavaScript search', async () => {
    const dim = 24;
    const index = unitRows(300, dim, 1);
    const queries = unitRows(3, dim, 2);
    const session = await ort.InferenceSession.create(searchGraph(index, dim));

    const out = await session.run({
      queries: new ort.Tensor('float32', queries, [3, dim]),
      k: new ort.Tensor('int64', BigInt64Array.of(4n), [1]),
    });

    for (let q = 0; q < 3; q++) {
      const expected = nearest(index, dim, queries.subarray(q * dim, (q + 1) * dim), 4);
      const rows = Array.from(out.indices?.data ?? [], Number).slice(q * 4, q * 4 + 4);
      const sims = Array.from(out.values?.data ?? [], Number).slice(q * 4, q * 4 + 4);

      expect(rows).toEqual(Array.from(expected.rows));
      sims.forEach((sim, i) => expect(sim).toBeCloseTo(expected.sims[i] ?? 0, 5));
    }
  });
});
