// Latency samples and their percentiles. Runs are short, so every sample is kept and sorted once.
import { performance } from "node:perf_hooks";

export type Percentiles = { count: number; p50: number; p95: number; p99: number; max: number };

export class Samples {
  private readonly values: number[] = [];

  add(ms: number) {
    this.values.push(ms);
  }

  get count() {
    return this.values.length;
  }

  summary(): Percentiles {
    const sorted = Float64Array.from(this.values).sort();
    const at = (q: number) =>
      sorted.length
        ? (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0)
        : 0;
    return {
      count: sorted.length,
      p50: round(at(0.5)),
      p95: round(at(0.95)),
      p99: round(at(0.99)),
      max: round(sorted.length ? (sorted[sorted.length - 1] ?? 0) : 0),
    };
  }
}

/** Counts by key, e.g. errors by code. */
export class Tally {
  readonly counts: Record<string, number> = {};

  add(key: string, n = 1) {
    this.counts[key] = (this.counts[key] ?? 0) + n;
  }

  get total() {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
}

export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Milliseconds on a clock all the bench's processes share (the wall clock at each process's start
 * plus its monotonic time since), so a time taken in a generator process can be set against one
 * taken in the coordinator.
 */
export const clock = () => performance.timeOrigin + performance.now();
