/**
 * Per-caller rate limits (a virtual key's `rpm` and `tpm`, README "Security"): sliding
 * one-minute windows per key. The store is an interface so a shared backend (state/, Redis)
 * can make the limits cluster-wide; the memory store below counts for this process only.
 *
 * tpm counts the prompt estimate when a call is admitted and is settled to the real usage
 * (prompt + completion tokens) when the call ends, like the provider tpm in limiter.ts.
 */
import { WindowCounter } from "./window-counter.js";

export interface KeyRateLimits {
  readonly rpm?: number;
  readonly tpm?: number;
}

export interface KeyLimitStore {
  /**
   * Count one request of `tokens` estimated tokens for `key` if it fits: 0 when admitted,
   * else the milliseconds until it would fit (Infinity: `tokens` alone exceed tpm). May be
   * asynchronous (a shared backend).
   */
  take(key: string, limits: KeyRateLimits, tokens: number, now: number): number | Promise<number>;
  /** Correct the tokens counted at `at` by `delta` (real usage minus the estimate). */
  settle(key: string, at: number, delta: number, now: number): void;
}

const MINUTE = 60_000;

interface Windows {
  requests: WindowCounter;
  tokens: WindowCounter;
}

/** In-process store: one pair of windows per key (keys come from the config: bounded). */
export function createMemoryKeyLimitStore(): KeyLimitStore {
  const byKey = new Map<string, Windows>();
  const windows = (key: string) => {
    let w = byKey.get(key);
    if (!w) byKey.set(key, (w = { requests: new WindowCounter(MINUTE), tokens: new WindowCounter(MINUTE) }));
    return w;
  };
  return {
    take(key, limits, tokens, now) {
      const w = windows(key);
      let wait = 0;
      if (limits.rpm !== undefined) wait = Math.max(wait, w.requests.waitFor(now, 1, limits.rpm));
      if (limits.tpm !== undefined) wait = Math.max(wait, w.tokens.waitFor(now, Math.min(tokens, limits.tpm), limits.tpm));
      if (wait > 0) return wait;
      w.requests.add(now, 1);
      w.tokens.add(now, tokens);
      return 0;
    },
    settle(key, at, delta, now) {
      byKey.get(key)?.tokens.adjust(at, now, delta);
    },
  };
}
