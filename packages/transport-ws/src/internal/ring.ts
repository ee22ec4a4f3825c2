/**
 * The last `capacity` outbound frames of one session, already serialised,
 * keyed by their consecutive `seq`. Storage is allocated on the first push,
 * so a session that never talked costs nothing here.
 */
export class SeqRing {
  readonly capacity: number;
  #items: string[] | null = null;
  /** Index of the oldest frame in `#items`. */
  #head = 0;
  #size = 0;
  /** The seq of the newest frame held. */
  #lastSeq = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.#size;
  }

  /** Stores the frame with `seq`, which must follow the previous one. */
  push(seq: number, frame: string): void {
    if (this.capacity === 0) return;

    this.#items ??= [];
    if (this.#size > 0 && seq !== this.#lastSeq + 1) {
      // A gap would break the seq arithmetic below; start over from here.
      this.#head = 0;
      this.#size = 0;
      this.#items.length = 0;
    }

    if (this.#size < this.capacity) {
      this.#items[(this.#head + this.#size) % this.capacity] = frame;
      this.#size += 1;
    } else {
      this.#items[this.#head] = frame;
      this.#head = (this.#head + 1) % this.capacity;
    }
    this.#lastSeq = seq;
  }

  /**
   * The frames after `lastSeq`, oldest first, and whether they cover all of
   * them (`false` when older frames have already been overwritten).
   */
  since(lastSeq: number, currentSeq: number): { frames: string[]; isComplete: boolean } {
    const missed = currentSeq - lastSeq;
    if (missed <= 0) return { frames: [], isComplete: true };

    const oldest = this.#lastSeq - this.#size + 1;
    const from = Math.max(lastSeq + 1, oldest);
    const frames: string[] = [];

    if (this.#items !== null && this.#size > 0) {
      for (let seq = from; seq <= this.#lastSeq; seq++) {
        frames.push(this.#items[(this.#head + (seq - oldest)) % this.capacity] as string);
      }
    }

    return { frames, isComplete: frames.length === missed };
  }
}
