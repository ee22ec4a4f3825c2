import type { HistoryEntry, Session } from '../types.js';

import { LANE, type RUNNING, type TurnLane } from './lane.js';
import { traceIdOf } from './trace-id.js';

// Slots per history entry in the ring: who, text, time, intent, trace id.
const SLOTS = 5;
// Trace numbers below this are kept as numbers (V8's small integers).
const SMALL = 2 ** 30;
const FIRST_CAPACITY = 4;

/** The time of an entry as kept in the ring (see {@link PooledSession}). */
type RingTime = number | { at: number };

/**
 * A session as the pool creates it. Its history is kept as a ring of plain
 * values (strings and small integers) rather than one object per entry:
 * entries outlive V8's young generation, and two objects a turn kept alive
 * that long were the largest cost of a turn. The entries are built as
 * objects only when someone reads `history`; from then on the session keeps
 * that array and appends to it, so the array read stays the live history.
 */
export class PooledSession implements Session {
  readonly id: string;
  readonly createdAt: number;
  updatedAt: number;
  turns = 0;
  lastIntent?: string;
  slots: Record<string, unknown> = {};
  /** The engine's lane while a turn of this session is in flight. */
  [LANE]: TurnLane<unknown> | typeof RUNNING | undefined = undefined;
  #ring: unknown[] | undefined;
  /** Entries the ring has room for, its first entry, and how many it holds. */
  #capacity = 0;
  #start = 0;
  #count = 0;
  #entries: HistoryEntry[] | undefined;

  constructor(id: string, now: number) {
    this.id = id;
    this.createdAt = now;
    this.updatedAt = now;
  }

  get history(): HistoryEntry[] {
    if (this.#entries === undefined) {
      this.#entries = this.#build();
      this.#ring = undefined;
      this.#capacity = 0;
      this.#count = 0;
    }

    return this.#entries;
  }

  set history(entries: HistoryEntry[]) {
    this.#entries = entries;
    this.#ring = undefined;
    this.#capacity = 0;
    this.#count = 0;
  }

  /** A plain copy for stores and serialisers (`JSON.stringify` calls this). */
  toJSON(): Session {
    const plain: Session = {
      id: this.id,
      createdAt: this.createdAt,
      updatedAt: this.updatedAt,
      turns: this.turns,
      slots: this.slots,
      history: this.#entries ?? this.#build(),
    };

    if (this.lastIntent !== undefined) plain.lastIntent = this.lastIntent;

    return plain;
  }

  /**
   * Appends one entry, dropping the oldest past `max`. `entry` is kept as
   * given when it is an object (a host's note); a turn's own entries come
   * as fields and cost no object. `traceSeq`, when positive, is the number
   * `traceId` was made from (see `nextTraceSeq`).
   */
  append(
    max: number,
    from: HistoryEntry['from'] | HistoryEntry,
    text: string,
    at: number,
    intent: string | undefined,
    traceId: string | undefined,
    traceSeq = 0,
  ): void {
    const entries = this.#entries;

    if (entries !== undefined) {
      entries.push(typeof from === 'object' ? from : entryOf(from, text, at, intent, traceId));

      if (entries.length > max) entries.shift();

      return;
    }

    // Integer arithmetic without `%`: the ring is on every turn's path.
    let capacity = this.#capacity;
    let count = this.#count;

    if (count === capacity) {
      if (capacity >= max) {
        // Full: the oldest entry gives its slots to the new one.
        const start = this.#start + 1;

        this.#start = start === capacity ? 0 : start;
        count--;
      } else {
        capacity = this.#grow(Math.min(max, Math.max(FIRST_CAPACITY, capacity * 2)));
      }
    }

    const live = this.#ring as unknown[];
    let index = this.#start + count;

    if (index >= capacity) index -= capacity;

    const at0 = index * SLOTS;

    live[at0] = from;
    live[at0 + 1] = text;
    // Offsets from the session's start fit V8's small integers for weeks,
    // and a small integer in an array costs no allocation (a time does).
    live[at0 + 2] = Number.isInteger(at) ? at - this.createdAt : { at };
    live[at0 + 3] = intent;
    live[at0 + 4] = traceSeq > 0 && traceSeq < SMALL ? traceSeq : traceId;
    this.#count = count + 1;
  }

  /** Moves the entries into a ring of `capacity` entries; returns `capacity`. */
  #grow(capacity: number): number {
    const old = this.#ring;
    const ring = new Array<unknown>(capacity * SLOTS).fill(undefined);

    if (old !== undefined) {
      const oldCapacity = this.#capacity;

      for (let i = 0; i < this.#count; i++) {
        const from = ((this.#start + i) % oldCapacity) * SLOTS;

        for (let s = 0; s < SLOTS; s++) ring[i * SLOTS + s] = old[from + s];
      }
    }

    this.#ring = ring;
    this.#capacity = capacity;
    this.#start = 0;

    return capacity;
  }

  #build(): HistoryEntry[] {
    const ring = this.#ring;
    const out: HistoryEntry[] = [];

    if (ring === undefined) return out;

    const capacity = this.#capacity;

    for (let i = 0; i < this.#count; i++) {
      const at0 = ((this.#start + i) % capacity) * SLOTS;
      const from = ring[at0] as HistoryEntry['from'] | HistoryEntry;

      if (typeof from === 'object') {
        out.push(from);
        continue;
      }

      const time = ring[at0 + 2] as RingTime;
      const trace = ring[at0 + 4] as string | number | undefined;

      out.push(
        entryOf(
          from,
          ring[at0 + 1] as string,
          typeof time === 'number' ? this.createdAt + time : time.at,
          ring[at0 + 3] as string | undefined,
          typeof trace === 'number' ? traceIdOf(trace) : trace,
        ),
      );
    }

    return out;
  }
}

/** An entry with the same keys as the engine has always written. */
function entryOf(
  from: HistoryEntry['from'],
  text: string,
  at: number,
  intent: string | undefined,
  traceId: string | undefined,
): HistoryEntry {
  const entry: HistoryEntry = { from, text, at };

  if (intent !== undefined) entry.intent = intent;

  if (traceId !== undefined) entry.traceId = traceId;

  return entry;
}
