import { randomBytes } from 'node:crypto';

// A random prefix per process and a counter: unique enough to follow one
// turn through the logs of a fleet, and far cheaper than a UUID per turn.
// Kept under 13 characters for the first 60 million turns or so, so that V8
// makes each id one flat string rather than a chain of string pieces.
const PREFIX = randomBytes(4).readUInt32BE(0).toString(36).padStart(7, '0').slice(0, 7);
let counter = 0;

/**
 * The number of a new trace id. A session's history keeps this number
 * rather than the id while it fits a small integer: a number in an array
 * costs nothing to keep, a string kept for many turns costs the GC.
 */
export function nextTraceSeq(): number {
  counter = counter >= Number.MAX_SAFE_INTEGER ? 1 : counter + 1;

  return counter;
}

/** The trace id of number `seq`, such as `k3x9q0a-1a`; the same for the same number. */
export function traceIdOf(seq: number): string {
  return `${PREFIX}-${seq.toString(36)}`;
}

/** A new trace id. */
export function makeTraceId(): string {
  return traceIdOf(nextTraceSeq());
}
