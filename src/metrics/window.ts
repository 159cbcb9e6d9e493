/**
 * Latency samples over a sliding time window, for percentiles (p50, p95, p99). Recording is
 * two array writes; percentiles sort a copy of the window, at most once per `refreshMs` (the
 * sorted snapshot is reused), so strategies may ask on every pick.
 */
export class SlidingWindow {
  private readonly times: Float64Array;
  private readonly values: Float64Array;
  private head = 0;
  private count = 0;
  private sorted: Float64Array = new Float64Array(0);
  private sortedAt = -Infinity;
  private dirty = false;

  constructor(
    private readonly windowMs = 60_000,
    capacity = 1024,
    private readonly refreshMs = 250,
  ) {
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  record(now: number, value: number): void {
    this.times[this.head] = now;
    this.values[this.head] = value;
    this.head = (this.head + 1) % this.times.length;
    if (this.count < this.times.length) this.count++;
    this.dirty = true;
  }

  private snapshot(now: number): Float64Array {
    if (!this.dirty && now - this.sortedAt < this.refreshMs) return this.sorted;
    if (this.dirty && now - this.sortedAt < this.refreshMs && this.sorted.length > 0) return this.sorted;
    const cutoff = now - this.windowMs;
    const cap = this.times.length;
    const out = new Float64Array(this.count);
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const idx = (this.head - 1 - i + cap) % cap;
      if (this.times[idx]! < cutoff) break;
      out[n++] = this.values[idx]!;
    }
    this.sorted = out.subarray(0, n).sort();
    this.sortedAt = now;
    this.dirty = false;
    return this.sorted;
  }

  /** The p-th percentile (0..100) of samples in the window; undefined when there are none. */
  percentile(p: number, now: number): number | undefined {
    const s = this.snapshot(now);
    if (s.length === 0) return undefined;
    const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
    return s[rank];
  }

  /** Samples in the window. */
  size(now: number): number {
    return this.snapshot(now).length;
  }
}
