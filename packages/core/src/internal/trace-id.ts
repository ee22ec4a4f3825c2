import { randomBytes } from 'node:crypto';

// A random prefix per process and a counter: unique enough to follow one
// turn through the logs of a fleet, and far cheaper than a UUID per turn.
// Kept under 13 characters for the first 60 million turns or so, so that V8
// makes each id one flat string rather than a chain of string pieces: ids
// are kept in session history, and every object kept costs the GC.
const PREFIX = randomBytes(4).readUInt32BE(0).toString(36).padStart(7, '0').slice(0, 7);
let counter = 0;

/** A new trace id, such as `k3x9q0a-1a`. */
export function makeTraceId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;

  return `${PREFIX}-${counter.toString(36)}`;
}
