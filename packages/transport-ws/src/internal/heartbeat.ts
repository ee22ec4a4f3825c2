/** What the wheel needs to remember about an entry. */
export interface WheelEntry {
  /** The bucket the entry sits in; -1 when not on the wheel. */
  hbSlot: number;
}

/**
 * Visits every entry once per `intervalMs`, a slice at a time: entries are
 * dealt into buckets at random and one timer walks the buckets. Pinging
 * every connection from a single callback stalls the process for about half
 * a second at 10,000 connections (see PERFORMANCE.md); a slice is small.
 */
export class HeartbeatWheel<T extends WheelEntry> {
  readonly #buckets: Set<T>[];
  readonly #visit: (entry: T) => void;
  readonly #timer: NodeJS.Timeout | null;
  #next = 0;
  #size = 0;

  /**
   * With `intervalMs` 0 the wheel never turns and is only a registry of its
   * entries; the chat server uses it as its one set of connections either way.
   */
  constructor(intervalMs: number, visit: (entry: T) => void) {
    const tickMs = Math.min(250, Math.max(10, Math.floor(intervalMs / 100)));
    const count = intervalMs > 0 ? Math.max(1, Math.round(intervalMs / tickMs)) : 1;

    this.#buckets = Array.from({ length: count }, () => new Set<T>());
    this.#visit = visit;
    this.#timer = intervalMs > 0 ? setInterval(() => this.#tick(), tickMs) : null;
    this.#timer?.unref();
  }

  /** How many entries are on the wheel. */
  get size(): number {
    return this.#size;
  }

  add(entry: T): void {
    if (entry.hbSlot >= 0) return;

    const slot = Math.floor(Math.random() * this.#buckets.length);
    entry.hbSlot = slot;
    this.#buckets[slot]?.add(entry);
    this.#size += 1;
  }

  remove(entry: T): void {
    if (entry.hbSlot < 0) return;

    this.#buckets[entry.hbSlot]?.delete(entry);
    entry.hbSlot = -1;
    this.#size -= 1;
  }

  /** Every entry, in no particular order. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (const bucket of this.#buckets) yield* bucket;
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
  }

  #tick(): void {
    const bucket = this.#buckets[this.#next];

    this.#next = (this.#next + 1) % this.#buckets.length;
    if (bucket === undefined) return;

    // Visiting may delete the entry it visits (a terminated connection):
    // deleting the current element while iterating a Set is safe.
    for (const entry of bucket) this.#visit(entry);
  }
}
