import { describe, expect, it } from 'vitest';
import { SeqRing } from './ring.js';

function filled(capacity: number, upTo: number): SeqRing {
  const ring = new SeqRing(capacity);
  for (let seq = 1; seq <= upTo; seq++) ring.push(seq, `f${seq}`);
  return ring;
}

describe('SeqRing', () => {
  it('returns the frames after lastSeq in order', () => {
    expect(filled(5, 4).since(1, 4)).toEqual({ frames: ['f2', 'f3', 'f4'], isComplete: true });
  });

  it('keeps only the newest frames and says when older ones are gone', () => {
    const ring = filled(3, 7);

    expect(ring.size).toBe(3);
    expect(ring.since(2, 7)).toEqual({ frames: ['f5', 'f6', 'f7'], isComplete: false });
    expect(ring.since(4, 7)).toEqual({ frames: ['f5', 'f6', 'f7'], isComplete: true });
  });

  it('returns nothing when the client is up to date or ahead', () => {
    const ring = filled(3, 2);

    expect(ring.since(2, 2)).toEqual({ frames: [], isComplete: true });
    expect(ring.since(9, 2)).toEqual({ frames: [], isComplete: true });
  });

  it('starts over after a gap in seqs', () => {
    const ring = filled(4, 3);
    ring.push(10, 'f10');

    expect(ring.since(9, 10)).toEqual({ frames: ['f10'], isComplete: true });
    expect(ring.since(3, 10).isComplete).toBe(false);
  });

  it('holds nothing with a capacity of 0', () => {
    expect(filled(0, 3).since(0, 3)).toEqual({ frames: [], isComplete: false });
  });
});
