/**
 * One call's abort signal: it fires on the caller's cancel or deadline, on the call's own
 * timeout, or when told (a stalled stream). Shared by the pool's attempts and by composites'
 * member calls, so both time out and cancel the same way.
 */
import { ProviderError } from "./errors.js";
import type { Clock } from "../util/clock.js";

export interface AttemptSignal {
  readonly signal: AbortSignal;
  /** Stop the timeout (e.g. a stream's first token arrived). */
  clearTimeout(): void;
  /** Abort the attempt (a stalled stream) with this reason. */
  abort(reason: ProviderError): void;
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
