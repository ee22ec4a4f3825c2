import { describe, expect, it } from 'vitest';
import { clientFrameSchema, parseMessageFast } from './protocol.js';

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

describe('parseMessageFast', () => {
  it('returns what the schema returns for a valid message, unknown keys left out', () => {
    const frames = [
      { type: 'message', id: 'a', text: 'hi' },
      { type: 'message', id: 'x'.repeat(128), text: 'hi', extra: 1 },
      { type: 'message', id: 'a', text: 'hi', sessionId: 's' },
    ];
    for (const frame of frames) expect(parseMessageFast(frame)).toEqual(clientFrameSchema.parse(frame));
  });

  it('leaves every other frame, valid or not, to the schema', () => {
    const others: unknown[] = [
      null,
      'message',
      [1, 2],
      { type: 'ping' },
      { type: 'hello' },
      { type: 'message', text: 'no id' },
      { type: 'message', id: '', text: 'hi' },
      { type: 'message', id: 'x'.repeat(129), text: 'hi' },
      { type: 'message', id: 7, text: 'hi' },
      { type: 'message', id: 'a', text: '' },
      { type: 'message', id: 'a', text: 3 },
      { type: 'message', id: 'a', text: 'hi', sessionId: '' },
      { type: 'message', id: 'a', text: 'hi', sessionId: null },
      { type: 'message', id: 'a', text: 'hi', sessionId: 's'.repeat(129) },
    ];
    for (const frame of others) expect(parseMessageFast(frame)).toBeNull();
  });
});
