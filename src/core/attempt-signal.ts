/**
 * One call's abort signal: it fires on the caller's cancel or deadline, on the call's own
 * timeout, or when told (a stalled stream). Shared by the pool's attempts and by composites'
 * member calls, so both time out and cancel the same way.
 */
import { ProviderError } from "./errors.js";
import type { Clock } from "../util/clock.js";
import type { Cancel } from "../util/cancel.js";

export interface AttemptSignal {
  readonly signal: AbortSignal;
  /** Stop the timeout (e.g. a stream's first token arrived). */
  clearTimeout(): void;
  /** Abort the attempt (a stalled stream) with this reason. */
  abort(reason: ProviderError): void;
  /** Release listeners and timers. */
  done(): void;
}

/**
 * A class, not a literal of closures: the methods are shared, so an attempt allocates only its
 * two callbacks. (An object listener with handleEvent would not save one: EventTarget wraps it
 * in an async function of its own.)
 */
class AttemptAbort implements AttemptSignal {
  private readonly ac = new AbortController();
  readonly signal = this.ac.signal;
  private cancelTimer: (() => void) | undefined;
  private readonly onAbort = (): void => this.ac.abort(this.parent.reason);

  constructor(
    private readonly parent: Cancel,
    private readonly timeoutMs: number,
    private readonly provider: string,
    clock: Clock,
  ) {
    if (parent.aborted) this.ac.abort(parent.reason);
    else parent.addEventListener("abort", this.onAbort, { once: true });
    this.cancelTimer = clock.setTimeout(() => this.timedOut(), timeoutMs);
  }

  private timedOut(): void {
    this.cancelTimer = undefined;
    this.ac.abort(new ProviderError({ provider: this.provider, kind: "timeout", message: `no answer within timeout_ms (${this.timeoutMs} ms)` }));
  }

  abort(reason: ProviderError): void {
    if (!this.signal.aborted) this.ac.abort(reason);
  }

  clearTimeout(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  done(): void {
    this.parent.removeEventListener("abort", this.onAbort);
    this.clearTimeout();
  }
}

export function attemptSignal(parent: Cancel, timeoutMs: number, provider: string, clock: Clock): AttemptSignal {
  return new AttemptAbort(parent, timeoutMs, provider, clock);
}
