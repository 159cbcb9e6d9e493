/**
 * Per-attempt plumbing: an abort signal that fires on the caller's cancel/deadline or on the
 * attempt's own timeout, the stall watch of a stream, and retry backoff.
 */
import { ProviderError } from "../core/errors.js";
import type { Clock } from "../util/clock.js";
import type { Endpoint } from "./endpoint.js";
import type { CallRole } from "../core/outcome.js";
import type { Route } from "./router.js";

export interface AttemptSignal {
  readonly signal: AbortSignal;
  /** Stop the timeout (e.g. a stream's first token arrived). */
  clearTimeout(): void;
  /** Abort the attempt (a stalled stream) with this reason. */
  abort(reason: ProviderError): void;
  /** Release listeners and timers. */
  done(): void;
}

/** One upstream call of a request, from start to end. */
export interface Attempt {
  readonly route: Route;
  readonly endpoint: Endpoint;
  readonly role: CallRole;
  /** Monotonic ms. */
  readonly started: number;
  readonly signal: AttemptSignal;
  /** Breaker state token (src/health/breaker.ts). */
  readonly breakerToken: number;
  /** Prompt tokens reserved against tpm. */
  readonly reserved: number;
  /** Set once the attempt's outcome has been recorded. */
  ended: boolean;
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
    abort(reason) {
      if (!ac.signal.aborted) ac.abort(reason);
    },
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

/**
 * Stall detection for a stream after its first token: `onStall` runs when no chunk came for
 * `threshold()` ms. One timer per threshold period, not per chunk: `touch` only stores the
 * time, and the timer re-arms itself for what is left when it fires early.
 */
export class StallWatch {
  private last = 0;
  private cancel?: () => void;

  constructor(
    private readonly clock: Clock,
    private readonly threshold: () => number,
    private readonly onStall: (silentMs: number, thresholdMs: number) => void,
  ) {}

  start(now: number): void {
    this.last = now;
    this.arm(this.threshold());
  }

  touch(now: number): void {
    this.last = now;
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  private arm(ms: number): void {
    this.cancel = this.clock.setTimeout(() => {
      this.cancel = undefined;
      const now = this.clock.now();
      const t = this.threshold();
      const silent = now - this.last;
      if (silent >= t) this.onStall(silent, t);
      else this.arm(t - silent);
    }, ms);
  }
}
