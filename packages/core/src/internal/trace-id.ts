import { randomBytes } from 'node:crypto';

// A random prefix per process and a counter: unique enough to follow one
// turn through the logs of a fleet, and far cheaper than a UUID per turn.
const PREFIX = randomBytes(6).toString('hex');
let counter = 0;

/** A new trace id, such as `3f9a0c1b2d4e-1a`. */
export function makeTraceId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;

  return `${PREFIX}-${counter.toString(36)}`;
}
