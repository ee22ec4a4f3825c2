import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeartbeatWheel } from './heartbeat.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('HeartbeatWheel', () => {
  it('visits every entry once per interval, a slice at a time', () => {
    const seen: number[] = [];
    const wheel = new HeartbeatWheel<{ hbSlot: number; n: number }>(1_000, (e) => seen.push(e.n));
    for (let n = 0; n < 500; n++) wheel.add({ hbSlot: -1, n });

    vi.advanceTimersByTime(10);
    expect(seen.length).toBeLessThan(500);
    vi.advanceTimersByTime(990);
    expect(new Set(seen).size).toBe(500);
    expect(seen).toHaveLength(500);
    wheel.stop();
  });

  it('stops visiting a removed entry', () => {
    const seen: string[] = [];
    const wheel = new HeartbeatWheel<{ hbSlot: number; name: string }>(100, (e) => seen.push(e.name));
    const kept = { hbSlot: -1, name: 'kept' };
    const gone = { hbSlot: -1, name: 'gone' };
    wheel.add(kept);
    wheel.add(gone);
    wheel.remove(gone);
    wheel.remove(gone);

    vi.advanceTimersByTime(200);
    expect(seen).toEqual(['kept', 'kept']);
    expect(gone.hbSlot).toBe(-1);
    wheel.stop();
  });
});
