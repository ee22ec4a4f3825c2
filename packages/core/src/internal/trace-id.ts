import { randomBytes } from 'node:crypto';

// A random prefix per process and a counter: unique enough to follow one
// turn through the logs of a fleet, and far cheaper than a UUID per turn.
// Kept under 13 characters for the first 1.6 million turns, so that V8
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

// The last two base-36 digits come from a table and the others change only
// every 1,296 ids: \`toString(36)\` on every turn cost more than the rest of
// making an id.
const LOW = Array.from({ length: 1_296 }, (_, n) => n.toString(36).padStart(2, '0'));
let headBlock = 0;
let head = `${PREFIX}-`;

/** The trace id of number `seq`, such as `k3x9q0a-1a0`; the same for the same number. */
export function traceIdOf(seq: number): string {
  const block = Math.floor(seq / 1_296);

  if (block !== headBlock) {
    headBlock = block;
    head = block === 0 ? `${PREFIX}-` : `${PREFIX}-${block.toString(36)}`;
  }

  return head + (LOW[seq - block * 1_296] as string);
}

/** A new trace id. */
export function makeTraceId(): string {
  return traceIdOf(nextTraceSeq());
}
