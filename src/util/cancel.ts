/**
 * A call's cancellation: the part of AbortSignal that the pool and the provider adapters use.
 * Connect's handler signal and a door's AbortSignal are one as they are. The fast path
 * (src/server/fast-path.ts) and every attempt (src/core/attempt-signal.ts) use a CallAbort
 * instead, because Node builds each AbortSignal slowly (an EventTarget with its prototype
 * swapped: ~2.6 µs on Node 20, and ~1.4 µs per listener added and removed), and these signals
 * were the largest thing a call left for the old generation. undici takes any object with
 * addEventListener and removeEventListener as a request's signal; an adapter
 * that calls an API insisting on an AbortSignal (fetch) makes one from it. Health checks,
 * discovery and warmup keep real AbortSignals (AbortSignal.timeout).
 */
export interface Cancel {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/**
 * A Cancel that is aborted by calling `abort`, or with its parent's reason when the parent
 * aborts; listeners run once, in the order added.
 */
export class CallAbort implements Cancel {
  aborted = false;
  reason: unknown = undefined;
  private listeners: (() => void)[] | undefined;
  private readonly parent: Cancel | undefined;
  private readonly onParentAbort: (() => void) | undefined;

  constructor(parent?: Cancel) {
    if (parent === undefined) return;
    if (parent.aborted) this.abort(parent.reason);
    else {
      this.parent = parent;
      this.onParentAbort = () => this.abort(parent.reason);
      parent.addEventListener("abort", this.onParentAbort, { once: true });
    }
  }

  /** Stop following the parent: the call is over. */
  detach(): void {
    if (this.onParentAbort) this.parent!.removeEventListener("abort", this.onParentAbort);
  }

  addEventListener(_type: "abort", listener: () => void): void {
    if (this.aborted) return;
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const ls = this.listeners;
    if (ls === undefined) return;
    const i = ls.lastIndexOf(listener);
    if (i >= 0) ls.splice(i, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const ls = this.listeners;
    this.listeners = undefined;
    if (ls === undefined) return;
    for (const l of ls) {
      try {
        l();
      } catch (err) {
        // As EventTarget does: the other listeners still run, and the error surfaces on its own.
        process.nextTick(() => {
          throw err;
        });
      }
    }
  }
}

