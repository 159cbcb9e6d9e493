/**
 * A sliding-window sum over a fixed ring of time buckets: what rpm, rpd, tpm and the retry
 * budget count with. Memory is fixed at construction (one float per bucket), adding is O(1),
 * and the window slides bucket by bucket, so a count leaves the window at most one bucket
 * late: limits err on the safe side.
 */
export class WindowCounter {
  private readonly counts: Float64Array;
  private readonly bucketMs: number;
  /** Index (time / bucketMs) of the newest bucket the ring holds. */
  private head = -Infinity;
  private total = 0;

  /**
   * @param windowMs the window's length.
   * @param buckets how finely it slides (default 60: a one-minute window moves per second).
   */
  constructor(
    readonly windowMs: number,
    buckets = 60,
  ) {
    this.counts = new Float64Array(buckets);
    this.bucketMs = windowMs / buckets;
  }

  /** Drop buckets that left the window by `now`. */
  private advance(now: number): number {
    const idx = Math.floor(now / this.bucketMs);
    if (idx <= this.head) return idx;
    const n = this.counts.length;
    if (idx - this.head >= n) {
      this.counts.fill(0);
      this.total = 0;
    } else {
      for (let i = this.head + 1; i <= idx; i++) {
        const slot = i % n;
        this.total -= this.counts[slot]!;
        this.counts[slot] = 0;
      }
    }
    this.head = idx;
    return idx;
  }

  add(now: number, amount: number): void {
    const idx = this.advance(now);
    this.counts[idx % this.counts.length]! += amount;
    this.total += amount;
  }

  /**
   * Correct an earlier `add` (a token reservation settled by real usage): the bucket of `at`
   * is adjusted while it is still in the window; afterwards the amount has left anyway.
   */
  adjust(at: number, now: number, amount: number): void {
    const head = this.advance(now);
    const idx = Math.floor(at / this.bucketMs);
    if (idx > head || head - idx >= this.counts.length) return;
    const slot = idx % this.counts.length;
    const next = Math.max(0, this.counts[slot]! + amount);
    this.total += next - this.counts[slot]!;
    this.counts[slot] = next;
  }

  /** Sum over the window ending at `now`. */
  sum(now: number): number {
    this.advance(now);
    return this.total < 1e-9 ? 0 : this.total;
  }

  /**
   * Milliseconds from `now` until the sum has room for `need` more under `limit` (0 when it
   * has room now; Infinity when `need` alone exceeds `limit`).
   */
  waitFor(now: number, need: number, limit: number): number {
    const head = this.advance(now);
    if (this.total + need <= limit) return 0;
    if (need > limit) return Infinity;
    const n = this.counts.length;
    let freed = 0;
    // Oldest bucket first: bucket i leaves the window when bucket i + n begins.
    for (let i = head - n + 1; i <= head; i++) {
      freed += this.counts[((i % n) + n) % n]!;
      if (this.total - freed + need <= limit) return Math.max(0, (i + n) * this.bucketMs - now);
    }
    return this.windowMs;
  }
}
