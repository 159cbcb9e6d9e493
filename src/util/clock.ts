/**
 * Time sources. Everything that measures or schedules takes a Clock so tests can drive time
 * by hand (createFakeClock) instead of sleeping.
 */
import type { Cancel } from "./cancel.js";
export interface Clock {
  /** Monotonic milliseconds (performance.now() in production). */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch (Date.now() in production). */
  wallNow(): number;
  /** Schedule fn after ms; returns a cancel function. */
  setTimeout(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return () => clearTimeout(t);
  },
};

export interface FakeClock extends Clock {
  /** Move time forward, firing due timers in order. */
  advance(ms: number): void;
  /** Timers not yet fired. */
  pending(): number;
}

export function createFakeClock(start = 0, wallStart = 1_700_000_000_000): FakeClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    wallNow: () => wallStart + now - start,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return () => void timers.delete(id);
    },
    advance(ms) {
      const target = now + ms;
      for (;;) {
        let nextId = -1;
        let nextAt = Infinity;
        for (const [id, t] of timers) {
          if (t.at <= target && t.at < nextAt) {
            nextAt = t.at;
            nextId = id;
          }
        }
        if (nextId < 0) break;
        const t = timers.get(nextId)!;
        timers.delete(nextId);
        now = t.at;
        t.fn();
      }
      now = target;
    },
    pending: () => timers.size,
  };
}

/** Resolves after ms, or rejects with the signal's reason when it aborts first. */
export function delay(ms: number, signal: Cancel, clock: Clock): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      cancel();
      reject(signal.reason);
    };
    const cancel = clock.setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
