/**
 * The one timer a ledger's writes wait on: arming it for an earlier time replaces a later one,
 * a later time leaves it as it is (src/cost/ledger.ts, src/cost/ledger-postgres.ts).
 */
import type { Clock } from "../util/clock.js";

export interface FlushTimer {
  /** Fire in `ms` unless already due sooner. */
  schedule(ms: number): void;
  cancel(): void;
}

export function createFlushTimer(clock: Clock, fire: () => void): FlushTimer {
  let cancelTimer: (() => void) | undefined;
  let due = Infinity;
  const cancel = () => {
    cancelTimer?.();
    cancelTimer = undefined;
    due = Infinity;
  };
  return {
    schedule(ms) {
      const at = clock.now() + ms;
      if (cancelTimer) {
        if (at >= due) return;
        cancelTimer();
      }
      due = at;
      cancelTimer = clock.setTimeout(() => {
        cancelTimer = undefined;
        due = Infinity;
        fire();
      }, ms);
    },
    cancel,
  };
}
