import { afterEach, describe, expect, it, vi } from 'vitest';

import { wallClock } from './clock.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('wallClock()', () => {
  it('reuses a wall-clock reading for under a millisecond, then reads again', () => {
    const now = vi.spyOn(Date, 'now').mockReturnValue(5_000);

    expect(wallClock(1_000_000)).toBe(5_000);

    now.mockReturnValue(5_001);

    expect(wallClock(1_000_000.9)).toBe(5_000);
    expect(wallClock(1_000_001)).toBe(5_001);
  });

  it('reads again when the monotonic reading goes back', () => {
    const now = vi.spyOn(Date, 'now').mockReturnValue(7_000);

    expect(wallClock(2_000_000)).toBe(7_000);

    now.mockReturnValue(7_500);

    expect(wallClock(1_999_999.5)).toBe(7_500);
  });
});
