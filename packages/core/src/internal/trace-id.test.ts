import { describe, expect, it } from 'vitest';

import { makeTraceId, traceIdOf } from './trace-id.js';

describe('traceIdOf()', () => {
  it('gives a distinct id to every number across the table blocks', () => {
    const ids = new Set<string>();

    for (let seq = 1; seq < 5_000; seq++) ids.add(traceIdOf(seq));
    for (let seq = 1_679_000; seq < 1_681_000; seq++) ids.add(traceIdOf(seq));

    expect(ids.size).toBe(4_999 + 2_000);
    expect(traceIdOf(1_300)).toBe(traceIdOf(1_300));
    expect(traceIdOf(36)).toMatch(/^[0-9a-z]{7}-10$/);
    expect(makeTraceId()).not.toBe(makeTraceId());
  });
});
