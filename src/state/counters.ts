/**
 * Generic shared window counters, for mechanisms beyond provider limits (per gateway key rpm
 * and tpm, say): `take` counts an amount against a named sliding window if it fits under the
 * limit, atomically; `adjust` corrects an earlier take (a reservation settled by real usage).
 * The memory implementation is src/limits/window-counter.ts per key; the Redis one runs the
 * same windows as a script (src/state/redis-scripts.ts), so both answer alike.
 */
import { WindowCounter } from "../limits/window-counter.js";

export interface WindowSpec {
  /** Window length, ms (60_000 for a per-minute limit). */
  windowMs: number;
  /** How finely it slides (60 for one minute: per second). */
  buckets: number;
  /** Most the window may hold. */
  limit: number;
}

export interface TakeVerdict {
  ok: boolean;
  /** Sum in the window after this take (before it, when refused). */
  used: number;
  /** When refused: ms until the amount fits (Infinity: it never can). 0 when taken. */
  retryAfterMs: number;
}

export interface SharedCounters {
  /** Count `amount` against `key` if the window has room for it; `now` is wall-clock ms. */
  take(key: string, spec: WindowSpec, amount: number, now: number): Promise<TakeVerdict>;
  /** Add `amount` (negative to give back) to what was taken at `at`, while still in the window. */
  adjust(key: string, spec: WindowSpec, at: number, amount: number, now: number): Promise<void>;
}

/** In-process counters: one WindowCounter per key and window shape. */
export function createMemoryCounters(): SharedCounters {
  const windows = new Map<string, WindowCounter>();
  const get = (key: string, spec: WindowSpec) => {
    const k = `${key}\u0000${spec.windowMs}\u0000${spec.buckets}`;
    let w = windows.get(k);
    if (!w) windows.set(k, (w = new WindowCounter(spec.windowMs, spec.buckets)));
    return w;
  };
  return {
    async take(key, spec, amount, now) {
      const w = get(key, spec);
      const wait = w.waitFor(now, amount, spec.limit);
      if (wait > 0) return { ok: false, used: w.sum(now), retryAfterMs: wait };
      w.add(now, amount);
      return { ok: true, used: w.sum(now), retryAfterMs: 0 };
    },
    async adjust(key, spec, at, amount, now) {
      get(key, spec).adjust(at, now, amount);
    },
  };
}
