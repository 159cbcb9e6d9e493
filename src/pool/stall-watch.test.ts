import { describe, expect, it } from "vitest";
import { createFakeClock } from "../util/clock.js";
import { StallWatch } from "./stall-watch.js";

describe("StallWatch", () => {
  it("fires after the threshold of silence, with one timer per period however many chunks come", () => {
    const clock = createFakeClock();
    const stalls: number[] = [];
    const w = new StallWatch(clock, () => 100, (silent) => stalls.push(silent));
    w.start(clock.now());
    for (let i = 0; i < 50; i++) {
      clock.advance(10);
      w.touch(clock.now());
    }
    expect(clock.pending()).toBe(1);
    expect(stalls).toEqual([]);
    clock.advance(99);
    expect(stalls).toEqual([]);
    clock.advance(1);
    expect(stalls).toEqual([100]);
    w.stop();
    expect(clock.pending()).toBe(0);
  });
});
