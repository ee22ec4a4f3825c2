import type { PooledSession } from './pooled-session.js';

/** Where a pooled session keeps the lane of its turn in flight. */
export const LANE: unique symbol = Symbol('kefu.lane');

/**
 * What a pooled session carries under {@link LANE} while one turn runs and
 * none waits: a mark rather than a lane, so that the common turn makes no
 * object for its order. A second turn arriving meanwhile swaps in a lane.
 */
export const RUNNING: unique symbol = Symbol('kefu.running');

/**
 * The turns of one busy session: the one running and those waiting behind
 * it, in arrival order. A session held in the pool carries its lane itself
 * (no map write per turn); the engine's map holds the lanes of sessions
 * that are not held (a first turn, a session evicted mid-turn).
 */
export class TurnLane<J> {
  readonly sessionId: string;
  /** The pooled session carrying this lane, if any. */
  readonly holder: PooledSession | undefined;
  /**
   * Turns waiting behind the one running: `null` while none waits,
   * `undefined` while no turn runs (the lane is idle).
   */
  jobs: J[] | null | undefined = undefined;
  /** Whether the engine's map holds this lane. */
  inMap = false;

  constructor(sessionId: string, holder: PooledSession | undefined) {
    this.sessionId = sessionId;
    this.holder = holder;
  }
}
