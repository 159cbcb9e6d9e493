/**
 * One call's abort signal: it fires on the caller's cancel or deadline, on the call's own
 * timeout, or when told (a stalled stream). Shared by the pool's attempts and by composites'
 * member calls, so both time out and cancel the same way.
 */
import { ProviderError } from "./errors.js";
import type { Clock } from "../util/clock.js";
import { CallAbort, type Cancel } from "../util/cancel.js";

export interface AttemptSignal {
  readonly signal: Cancel;
  /** Stop the timeout (e.g. a stream's first token arrived). */
  clearTimeout(): void;
  /** Abort the attempt (a stalled stream) with this reason. */
  abort(reason: ProviderError): void;
  /** Release listeners and timers. */
  done(): void;
}

/**
 * A class, not a literal of closures: the methods are shared, so an attempt allocates only its
 * two callbacks (the parent's listener and the timer's). It is its own signal, a CallAbort
 * rather than an AbortController: Node builds an AbortSignal slowly (src/util/cancel.ts), and
 * undici takes any object with addEventListener and removeEventListener.
 */
class AttemptAbort extends CallAbort implements AttemptSignal {
  private cancelTimer: (() => void) | undefined;

  constructor(
    parent: Cancel,
    private readonly timeoutMs: number,
    private readonly provider: string,
    clock: Clock,
  ) {
    super(parent);
    this.cancelTimer = clock.setTimeout(() => this.timedOut(), timeoutMs);
  }

  get signal(): Cancel {
    return this;
  }

  private timedOut(): void {
    this.cancelTimer = undefined;
    this.abort(new ProviderError({ provider: this.provider, kind: "timeout", message: `no answer within timeout_ms (${this.timeoutMs} ms)` }));
  }

  clearTimeout(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  done(): void {
    this.detach();
    this.clearTimeout();
  }
}

export function attemptSignal(parent: Cancel, timeoutMs: number, provider: string, clock: Clock): AttemptSignal {
  return new AttemptAbort(parent, timeoutMs, provider, clock);
}
