/**
 * Wall-clock milliseconds from a `performance.now()` reading the caller has
 * already taken: `Date.now()` costs about as much as a small turn step, and
 * a turn needs both clocks. The wall clock is read again whenever the last
 * reading is more than {@link MAX_AGE_MS} old on the monotonic clock, so
 * the answer is never more than that behind `Date.now()` (a clock set back
 * or forward is picked up within that time too).
 */
const MAX_AGE_MS = 1;

let wallAt = 0;
let perfAt = Number.NEGATIVE_INFINITY;

/** `Date.now()`, give or take a millisecond, for the `performance.now()` value `perfNow`. */
export function wallClock(perfNow: number): number {
  const age = perfNow - perfAt;

  if (age >= 0 && age < MAX_AGE_MS) return wallAt;

  wallAt = Date.now();
  perfAt = perfNow;

  return wallAt;
}
