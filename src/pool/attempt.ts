/**
 * Per-attempt plumbing: an abort signal that fires on the caller's cancel/deadline or on the
 * attempt's own timeout, and retry backoff.
 */
import { ProviderError } from "../providers/types.js";
import type { Clock } from "../util/clock.js";

export interface AttemptSignal {
  readonly signal: AbortSignal;
  /** Stop the timeout (e.g. a stream's first token arrived). */
  clearTimeout(): void;
  /** Release listeners and timers. */
  done(): void;
}

export function attemptSignal(
  parent: AbortSignal,
  timeoutMs: number,
  provider: string,
  clock: Clock,
): AttemptSignal {
  const ac = new AbortController();
  const onAbort = () => ac.abort(parent.reason);
  if (parent.aborted) ac.abort(parent.reason);
  else parent.addEventListener("abort", onAbort, { once: true });
  let cancelTimer: (() => void) | undefined = clock.setTimeout(() => {
    ac.abort(
      new ProviderError({ provider, kind: "timeout", message: `no answer within timeout_ms (${timeoutMs} ms)` }),
    );
  }, timeoutMs);
  return {
    signal: ac.signal,
    clearTimeout() {
      cancelTimer?.();
      cancelTimer = undefined;
    },
    done() {
      parent.removeEventListener("abort", onAbort);
      cancelTimer?.();
      cancelTimer = undefined;
    },
  };
}

/** Exponential backoff with full jitter: uniform in [0, min(max, initial * 2^n)). */
export function backoffMs(retry: number, initial: number, max: number, random: () => number): number {
  const cap = Math.min(max, initial * Math.pow(2, Math.max(0, retry - 1)));
  return Math.floor(random() * cap);
}

/** Resolves after ms, or rejects with the signal's reason when it aborts first. */
export function delay(ms: number, signal: AbortSignal, clock: Clock): Promise<void> {
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
