import { describe, expect, it } from 'vitest';
import { clientFrameSchema } from './protocol.js';

describe('clientFrameSchema', () => {
  it('defaults a hello to the visitor role', () => {
    expect(clientFrameSchema.parse({ type: 'hello' })).toEqual({ type: 'hello', role: 'visitor' });
  });

  it('accepts a resume hello and an agent message', () => {
    expect(clientFrameSchema.safeParse({ type: 'hello', token: 't', lastSeq: 4 }).success).toBe(true);
    const frame = { type: 'message', id: 'a', sessionId: 's', text: 'hi' };
    expect(clientFrameSchema.safeParse(frame).success).toBe(true);
  });

  it('refuses missing fields, empty text, long ids and negative seqs', () => {
    const bad = [
      { type: 'message', text: 'no id' },
      { type: 'message', id: 'x', text: '' },
      { type: 'message', id: 'x'.repeat(129), text: 'hi' },
      { type: 'hello', lastSeq: -1 },
      { type: 'join' },
    ];
    for (const frame of bad) expect(clientFrameSchema.safeParse(frame).success).toBe(false);
  });
});
