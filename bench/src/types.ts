/** One measured figure of a benchmark section, with its peer and target. */
export interface BenchFigure {
  /** What was measured, e.g. "dispatch throughput (20 plugins)". */
  name: string;
  value: number;
  /** Unit of `value`, e.g. "turns/s", "ms", "KB", "%". */
  unit: string;
  /** The same figure for a peer measured in the same run, when there is one. */
  peer?: { name: string; value: number };
  /** The target in words, e.g. ">= 60% of the bare path". */
  target?: string;
  /** Whether the target was met; absent when the figure has no target. */
  met?: boolean;
}

/** What one section of `pnpm bench` reports. */
export interface BenchSection {
  section: string;
  figures: BenchFigure[];
  /** Short notes on method or caveats, printed under the section's table. */
  notes?: string[];
}

/** What the runner hands a section. */
export interface BenchContext {
  /** Folder of the public data sets (`../shared/datasets` beside the repo). */
  datasets: string;
  /** A shorter, smaller run (`pnpm bench --quick`), for checking the harness. */
  quick: boolean;
  /** Progress lines go here (stderr), never into the results. */
  log(message: string): void;
}

/**
 * A section module (`bench/src/<section>.ts`) default-exports one of these.
 * The runner starts each section in its own process with `--expose-gc`.
 */
export type BenchSectionRun = (ctx: BenchContext) => Promise<BenchSection>;
