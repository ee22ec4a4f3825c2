import { describe, expect, it } from 'vitest';

import { PooledSession } from './pooled-session.js';
import { makeTraceId, nextTraceSeq, traceIdOf } from './trace-id.js';

const T0 = 1_700_000_000_000;

function turn(session: PooledSession, max: number, n: number, seq = 0): void {
  const traceId = seq > 0 ? traceIdOf(seq) : `t${n}`;

  session.append(max, 'visitor', `q${n}`, T0 + n, undefined, traceId, seq);
  session.append(max, 'bot', `a${n}`, T0 + n, `i${n}`, traceId, seq);
}

describe('PooledSession', () => {
  it('keeps the newest entries in order past the bound', () => {
    const session = new PooledSession('s', T0);

    for (let n = 0; n < 13; n++) turn(session, 5, n);

    expect(session.history).toEqual([
      { from: 'bot', text: 'a10', at: T0 + 10, intent: 'i10', traceId: 't10' },
      { from: 'visitor', text: 'q11', at: T0 + 11, traceId: 't11' },
      { from: 'bot', text: 'a11', at: T0 + 11, intent: 'i11', traceId: 't11' },
      { from: 'visitor', text: 'q12', at: T0 + 12, traceId: 't12' },
      { from: 'bot', text: 'a12', at: T0 + 12, intent: 'i12', traceId: 't12' },
    ]);
  });

  it('gives back the trace ids it kept as numbers', () => {
    const session = new PooledSession('s', T0);
    const seq = nextTraceSeq();

    turn(session, 20, 1, seq);

    expect(session.history.map((entry) => entry.traceId)).toEqual([
      traceIdOf(seq),
      traceIdOf(seq),
    ]);
    expect(makeTraceId()).not.toBe(traceIdOf(seq));
  });

  it('keeps the array it handed out as the live history', () => {
    const session = new PooledSession('s', T0);

    turn(session, 3, 1);

    const read = session.history;

    turn(session, 3, 2);

    expect(session.history).toBe(read);
    expect(read.map((entry) => entry.text)).toEqual(['a1', 'q2', 'a2']);
  });

  it('keeps a note object, a fractional time and a time before the start as given', () => {
    const session = new PooledSession('s', T0);
    const note = { from: 'agent' as const, text: 'hi', at: T0 + 0.5, extra: 1 };

    session.append(4, note, note.text, note.at, undefined, undefined);
    session.append(4, 'agent', 'early', T0 - 5, undefined, undefined);
    session.append(4, 'agent', 'later', T0 + 0.25, undefined, undefined);

    expect(session.history[0]).toBe(note);
    expect(session.history.slice(1)).toEqual([
      { from: 'agent', text: 'early', at: T0 - 5 },
      { from: 'agent', text: 'later', at: T0 + 0.25 },
    ]);
  });

  it('serialises to plain data with its history', () => {
    const session = new PooledSession('s', T0);

    session.lastIntent = 'i1';
    session.turns = 1;
    turn(session, 20, 1);

    const plain = JSON.parse(JSON.stringify(session)) as Record<string, unknown>;

    expect(plain).toEqual({
      id: 's',
      createdAt: T0,
      updatedAt: T0,
      turns: 1,
      lastIntent: 'i1',
      slots: {},
      history: [
        { from: 'visitor', text: 'q1', at: T0 + 1, traceId: 't1' },
        { from: 'bot', text: 'a1', at: T0 + 1, intent: 'i1', traceId: 't1' },
      ],
    });
  });

  it('takes a history assigned to it', () => {
    const session = new PooledSession('s', T0);

    turn(session, 20, 1);
    session.history = [{ from: 'agent', text: 'only', at: T0 }];
    turn(session, 20, 2);

    expect(session.history.map((entry) => entry.text)).toEqual(['only', 'q2', 'a2']);
  });
});
