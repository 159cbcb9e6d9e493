import type { Clock } from "../util/clock.js";

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
