import type { FallbackReason } from '../types.js';

const WINDOW = 4096;

/**
 * Turn counters and the latencies of the last few thousand turns, kept in a
 * ring so that recording one costs a store, not an allocation.
 */
export class TurnStats {
  turns = 0;
  errors = 0;
  outOfScope = 0;
  readonly fallbacks: Record<FallbackReason, number> = {
    timeout: 0,
    error: 0,
    circuit_open: 0,
    not_trained: 0,
  };
  readonly #latencies = new Float64Array(WINDOW);
  #next = 0;
  #filled = 0;

  recordLatency(ms: number): void {
    this.#latencies[this.#next] = ms;
    this.#next = (this.#next + 1) % WINDOW;

    if (this.#filled < WINDOW) this.#filled++;
  }

  /** Percentiles of the recent latencies, in milliseconds. */
  latency(): { p50: number; p95: number; p99: number; max: number } {
    if (this.#filled === 0) return { p50: 0, p95: 0, p99: 0, max: 0 };

    const sorted = this.#latencies.slice(0, this.#filled).sort();
    const at = (q: number): number =>
      sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

    return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
  }
}
