/**
 * Stall tracking's own state: per endpoint, an EWMA of the gap between stream chunks, the base
 * of stall detection (src/pool/stream-resume.ts). Kept by endpoint in a WeakMap, so an endpoint
 * a reload dropped takes its history with it.
 */
import type { StreamConfig } from "../config/schema.js";

export class ChunkGaps<E extends object> {
  private readonly meanGapMs = new WeakMap<E, number>();

  /** A stream from `e` delivered a chunk `gapMs` after the previous one. */
  record(e: E, gapMs: number): void {
    const m = this.meanGapMs.get(e);
    this.meanGapMs.set(e, m === undefined ? gapMs : m * 0.9 + gapMs * 0.1);
  }

  /** EWMA of `e`'s gaps between chunks, ms (0 before any). */
  meanGap(e: E): number {
    return this.meanGapMs.get(e) ?? 0;
  }

  /** The stall threshold for a stream from `e` now: stall_factor × its mean gap, clamped. */
  stallThreshold(e: E, s: StreamConfig): number {
    const mean = this.meanGap(e);
    const base = mean > 0 ? mean * s.stall_factor : s.stall_max_ms;
    return Math.min(s.stall_max_ms, Math.max(s.stall_min_ms, base));
  }
}
