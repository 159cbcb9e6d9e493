/**
 * Simulated time for the strategy benchmark: a Clock whose timers fire in time order when the
 * run loop steps it, with every promise continuation drained between two timers. The real
 * Pool, strategies and race engine run unchanged on it, so minutes of traffic take seconds
 * and every run with the same seed is the same run.
 */
import type { Clock } from "../../src/util/clock.js";

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class VirtualClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly heap: Timer[] = [];

  now(): number {
    return this.t;
  }

  wallNow(): number {
    return 1_700_000_000_000 + this.t;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Fire the next timer due (moving time to it); false when none is left. */
  step(): boolean {
    for (;;) {
      const timer = this.pop();
      if (!timer) return false;
      if (timer.cancelled) continue;
      this.t = timer.at;
      timer.fn();
      return true;
    }
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(x: Timer): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

const drain = () => new Promise<void>((r) => setImmediate(r));

/** Run until no timer is left: drain continuations, fire the next timer, repeat. */
export async function runToEnd(clock: VirtualClock): Promise<void> {
  for (;;) {
    await drain();
    if (!clock.step()) return;
  }
}
